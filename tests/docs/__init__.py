"""The README walked as written, and the TypeScript client against the contract
(`make test-docs`)."""

"""Higher petition offices (上级信访部门): the registry of those that hand cases down."""

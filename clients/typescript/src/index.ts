/**
 * The Petition Desk client: openapi-fetch typed by the `paths` that openapi-typescript generates
 * from the committed openapi.yaml (`make client-ts` writes them to artifacts/client-ts/).
 * Every path, parameter, body and answer is checked by tsc against that contract.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "../../../artifacts/client-ts/schema.js";

export type { components, paths };
/** The API's schemas by name, e.g. `Schemas["CaseCreate"]`. */
export type Schemas = components["schemas"];
/** An RFC 9457 problem, the body of every error answer. */
export type Problem = Schemas["Problem"];
export type PetitionDeskClient = Client<paths>;

/** A client of the API at `baseUrl` that sends the bearer token `token()` gives, if any. */
export function createPetitionDeskClient(
  baseUrl: string,
  token: () => string | undefined = () => undefined,
): PetitionDeskClient {
  const client = createClient<paths>({ baseUrl });
  const bearer: Middleware = {
    onRequest({ request }) {
      const value = token();
      if (value !== undefined) {
        request.headers.set("Authorization", `Bearer ${value}`);
      }
      return request;
    },
  };
  client.use(bearer);
  return client;
}

/** An error answer the caller should not retry. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
  ) {
    super(problem ? `${status} ${problem.title}: ${problem.detail ?? ""}` : `HTTP ${status}`);
    this.name = "ApiError";
  }
}

/**
 * A grid worker's app registers a petition taken down while offline, then watches the case.
 *
 * 1. Log in (the OAuth2 password grant, form-encoded).
 * 2. The registration is drafted offline with an Idempotency-Key chosen once and stored with it;
 *    every retry (no network, 503, 429, 409 "still being processed") sends the same key and body,
 *    so the API creates one case however many times the request arrives.
 * 3. Poll the case with If-None-Match: 304 means nothing changed and costs the server nothing.
 *
 * Run (after `make client-ts`, against a running API):
 *   PD_BASE_URL=http://127.0.0.1:8000 PD_USERNAME=... PD_PASSWORD=... PD_ORIGIN_UNIT_ID=<uuid> \
 *     npm run example   (in clients/typescript)
 */
import {
  ApiError,
  createPetitionDeskClient,
  type PetitionDeskClient,
  type Schemas,
} from "../src/index.js";

type CaseCreate = Schemas["CaseCreate"];
type CaseRegistered = Schemas["CaseRegistered"];
type CaseRead = Schemas["CaseRead"];

/** What the app keeps on the device until the server has answered. */
export interface PendingRegistration {
  readonly idempotencyKey: string;
  readonly body: CaseCreate;
}

/** Draft a registration offline: the key is chosen now, once, and stored with the body. */
export function draft(body: CaseCreate): PendingRegistration {
  return { idempotencyKey: crypto.randomUUID(), body };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Seconds from a Retry-After header, else `fallback`. */
function retryAfter(response: Response, fallback: number): number {
  const seconds = Number(response.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds > 0 ? seconds : fallback;
}

/** Exchange a user name and password for an access token. */
export async function logIn(
  client: PetitionDeskClient,
  username: string,
  password: string,
): Promise<string> {
  const { data, error, response } = await client.POST("/v1/auth/token", {
    body: { grant_type: "password", username, password },
    // openapi-fetch's body serializer sends a form (URLSearchParams) for this content type.
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (data === undefined) {
    throw new ApiError(response.status, error);
  }
  return data.access_token;
}

/** Send a pending registration until the server answers it; the same key on every attempt. */
export async function send(
  client: PetitionDeskClient,
  pending: PendingRegistration,
  attempts = 5,
): Promise<CaseRegistered> {
  for (let attempt = 1; ; attempt++) {
    let wait = 2 ** attempt;
    try {
      const { data, error, response } = await client.POST("/v1/cases", {
        params: { header: { "Idempotency-Key": pending.idempotencyKey } },
        body: pending.body,
      });
      if (data !== undefined) {
        return data; // 201, first time or replayed
      }
      // 409: the first attempt is still running; 429/503: come back after Retry-After.
      // Anything else (422: invalid, or the key reused with another body) will not get better.
      if (![409, 429, 503].includes(response.status)) {
        throw new ApiError(response.status, error);
      }
      wait = retryAfter(response, wait);
    } catch (failure) {
      // fetch rejects with a TypeError when there is no network: keep the draft, try again.
      if (!(failure instanceof TypeError)) {
        throw failure;
      }
    }
    if (attempt >= attempts) {
      throw new Error(`not sent after ${attempts} attempts; kept for later: ${pending.idempotencyKey}`);
    }
    await sleep(wait * 1000);
  }
}

/** One poll of a case: the case and its ETag, or `undefined` when it has not changed. */
export async function pollCase(
  client: PetitionDeskClient,
  caseId: string,
  etag: string | undefined,
): Promise<{ case: CaseRead; etag: string | undefined } | undefined> {
  const { data, error, response } = await client.GET("/v1/cases/{case_id}", {
    params: { path: { case_id: caseId } },
    headers: etag === undefined ? {} : { "If-None-Match": etag },
  });
  if (response.status === 304) {
    return undefined;
  }
  if (data === undefined) {
    throw new ApiError(response.status, error);
  }
  return { case: data, etag: response.headers.get("ETag") ?? undefined };
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(`set ${name}`);
  }
  return value;
}

async function main(): Promise<void> {
  let token: string | undefined;
  const client = createPetitionDeskClient(required("PD_BASE_URL"), () => token);
  const polls = Number(process.env["PD_POLLS"] ?? "2");

  // Offline, in the field: drafted and stored with its key.
  const pending = draft({
    channel: "grid",
    origin_unit_id: required("PD_ORIGIN_UNIT_ID"),
    lodged_level: "village",
    petitioners: [{ name: "张三", phone: "13800000000", is_representative: true }],
    // A code of the category vocabulary (api/categories): 拖欠工资.
    category: process.env["PD_CATEGORY"] ?? "labour.wages",
    title: "工地拖欠工资",
    content: "某工地拖欠十二名工人三个月工资，多次讨要未果。",
    demands: "尽快支付拖欠工资",
    received_at: new Date().toISOString(),
  });

  // Back online.
  token = await logIn(client, required("PD_USERNAME"), required("PD_PASSWORD"));
  const registered = await send(client, pending);
  // A retry the app makes because it never saw the answer (the connection dropped): same case.
  const again = await send(client, pending);
  console.log(
    JSON.stringify({ registered: registered.id, number: registered.number, retried: again.id }),
  );
  if (again.id !== registered.id) {
    throw new Error("a retry with the same Idempotency-Key created a second case");
  }

  let etag: string | undefined;
  for (let poll = 0; poll < polls; poll++) {
    const answer = await pollCase(client, registered.id, etag);
    if (answer === undefined) {
      console.log(JSON.stringify({ poll, status: 304 }));
    } else {
      etag = answer.etag;
      console.log(
        JSON.stringify({ poll, status: 200, etag, case_status: answer.case.status }),
      );
    }
  }
}

// Run as a program, not when imported.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((failure: unknown) => {
    console.error(failure);
    process.exitCode = 1;
  });
}

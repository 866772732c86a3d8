/**
 * The agent over stdin/stdout (docs/AGENT.md "Over stdio"): one JSON object per line each way, at most
 * 1 MiB per line; requests run concurrently and are answered in completion order; events are written as
 * they happen. Ends when stdin closes (or stdout breaks, or `shutdown`): a running operation is
 * cancelled and awaited first, so the install is exactly the old or the new release.
 */
import type { Readable, Writable } from "node:stream";
import { FerryError } from "../core/errors.js";
import { callMethod, hello } from "./methods.js";
import {
  encode,
  errorBody,
  MAX_MESSAGE_BYTES,
  ParamReader,
  parseRequest,
  ProtocolError,
  type RequestId,
} from "./protocol.js";
import type { AgentSession } from "./session.js";

export interface StdioOptions {
  readonly input: Readable;
  readonly output: Writable;
  /** Resolves the transport early (SIGTERM/SIGINT): the same clean end as stdin closing. */
  readonly stop?: Promise<void>;
}

/** Serves `session` on the streams until the input ends; resolves after the running operation ended. */
export async function serveStdio(session: AgentSession, options: StdioOptions): Promise<void> {
  const { input, output } = options;
  let ended = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const write = (message: unknown) => {
    if (ended && output.writableEnded) return;
    output.write(`${encode(message)}\n`);
  };
  const answerError = (id: RequestId | null, error: unknown) =>
    write({ type: "error", id, error: errorBody(error) });

  write(hello(session));
  const unsubscribe = session.log.subscribe((e) => write({ type: "event", seq: e.seq, event: e.event }));

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Inside an oversized line: its rest is skipped up to the next newline. */
  let skipping = false;

  const handleLine = (line: Buffer) => {
    const text = line.toString("utf8").replace(/\r$/, "");
    if (text.trim() === "") return;
    let request;
    try {
      request = parseRequest(text, "The request line", true);
    } catch (error) {
      return answerError(error instanceof ProtocolError ? error.requestId : null, error);
    }
    const { id, method, params } = request;
    if (method === "shutdown") {
      try {
        new ParamReader("shutdown", params, []);
      } catch (error) {
        return answerError(id, error);
      }
      write({ type: "result", id, result: { ok: true } });
      void end();
      return;
    }
    callMethod(session, method, params).then(
      (result) => write({ type: "result", id, result: result ?? null }),
      (error: unknown) => answerError(id, error),
    );
  };

  const tooLong = () =>
    answerError(
      null,
      new FerryError(
        "E_TOO_LARGE",
        `A request line is longer than ${MAX_MESSAGE_BYTES} bytes; it was skipped up to its newline. Send smaller requests.`,
        { limit: MAX_MESSAGE_BYTES },
      ),
    );

  const onData = (chunk: Buffer) => {
    let at = 0;
    while (at < chunk.length) {
      const nl = chunk.indexOf(10, at);
      const part = chunk.subarray(at, nl < 0 ? chunk.length : nl);
      at = nl < 0 ? chunk.length : nl + 1;
      if (!skipping) {
        if (pendingBytes + part.length > MAX_MESSAGE_BYTES) {
          skipping = true;
          pending = [];
          pendingBytes = 0;
          tooLong();
        } else {
          pending.push(part);
          pendingBytes += part.length;
        }
      }
      if (nl < 0) break;
      if (skipping) skipping = false;
      else {
        const line = Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        handleLine(line);
      }
    }
  };

  async function end(): Promise<void> {
    if (ended) return;
    ended = true;
    input.off("data", onData);
    await session.close();
    unsubscribe();
    finish();
  }

  input.on("data", onData);
  input.once("end", () => {
    if (!skipping && pendingBytes > 0) handleLine(Buffer.concat(pending));
    void end();
  });
  input.once("close", () => void end());
  input.once("error", () => void end());
  // The engine went away (broken pipe): nobody reads the answers, so end as if stdin closed.
  output.on("error", () => void end());
  options.stop?.then(() => end());
  await finished;
}

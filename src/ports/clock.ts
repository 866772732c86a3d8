/** The clock port: the update's start time is read once, so every expiry check uses the same instant. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

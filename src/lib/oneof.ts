// A protobuf `oneof` of a decoded message as a tagged union, typed from the generated classes
// (src/gen/*.d.ts): `{case: 'welcome', value: sw.Welcome} | … | {case: undefined}`. A handler
// switches on `case` and ends with `default: return unhandled(c)`: a message added to the oneof in
// the .proto then fails to compile until it is handled, instead of falling through an if-chain.
// protobufjs keeps the set member's name in the oneof's virtual field (`msg`, `op`) and the value
// in the member's own field; decoding sets exactly one of them non-null, so no cast is needed at the
// call sites (the one below is the only one).

/** The member names a oneof field can hold. */
type Members<M, K extends keyof M> = Extract<NonNullable<M[K]>, keyof M>;

export type Oneof<M, K extends keyof M> =
  | { [C in Members<M, K>]: { case: C; value: NonNullable<M[C]> } }[Members<M, K>]
  /** Nothing set: an empty message, or a member this build does not know (sent by a newer peer). */
  | { case: undefined; value?: undefined };

/** The set member of oneof `key` of a decoded message. */
export function oneof<M extends object, K extends keyof M>(m: M, key: K): Oneof<M, K> {
  const c = m[key] as keyof M | undefined | null;
  if (c === undefined || c === null || m[c] === undefined || m[c] === null) return { case: undefined };
  return { case: c, value: m[c] } as Oneof<M, K>;
}

/**
 * The `default:` of a switch over a oneof's cases: reached only if a case is missing, which the
 * type `never` makes a compile error. At run time it throws (a peer cannot produce it: unknown
 * members decode as `case: undefined`).
 */
export function unhandled(c: never): never {
  throw new Error(`unhandled oneof case ${String((c as { case?: unknown }).case)}`);
}

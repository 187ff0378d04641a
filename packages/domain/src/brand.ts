/** A nominal type: a `T` that only the matching assert/convert functions produce. */
export type Brand<T, Name extends string> = T & { readonly __brand: Name };

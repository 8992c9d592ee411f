// Records keyed by names from a spec: every key, `__proto__` included, becomes an own data property.

/** `obj[key] = value`, except that it never calls a setter (`__proto__` would replace the prototype). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Google's limits on workload identity pool provider mappings and conditions (IAM REST reference). */
export interface AttributeMappingLimits {
  /** Bytes of UTF-8 in the mapped `google.subject`. */
  maxSubjectBytes: number;
  /** Number of `attribute.NAME` keys. */
  maxCustomAttributes: number;
  /** Characters in a custom attribute NAME. */
  maxAttributeNameLength: number;
  /** Characters in one mapping expression. */
  maxExpressionLength: number;
  /** Bytes of UTF-8 in all mapped values together (subject, groups, custom attribute values). */
  maxMappedBytes: number;
  /** Characters in the attribute condition. */
  maxConditionLength: number;
}

/** The limits Google enforces for workload identity pools; every compile function uses these by default. */
export const DEFAULT_ATTRIBUTE_MAPPING_LIMITS: Readonly<AttributeMappingLimits> = Object.freeze({
  maxSubjectBytes: 127,
  maxCustomAttributes: 50,
  maxAttributeNameLength: 100,
  maxExpressionLength: 2048,
  maxMappedBytes: 8 * 1024,
  maxConditionLength: 4096,
});

export function resolveLimits(
  overrides: Partial<AttributeMappingLimits> | undefined,
): AttributeMappingLimits {
  return { ...DEFAULT_ATTRIBUTE_MAPPING_LIMITS, ...overrides };
}

const encoder = new TextEncoder();

/** Length in bytes of UTF-8, as Google measures mapped values. */
export function utf8Length(value: string): number {
  // Fast path: pure ASCII strings are one byte per code unit.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  if (/^[\x00-\x7f]*$/.test(value)) return value.length;
  return encoder.encode(value).length;
}

/** Length in characters (code points), as Google measures expressions and conditions. */
export function characterLength(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

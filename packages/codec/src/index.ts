// Memcomparable bytes, big-endian and descending numbers, varints, the Key type with a timestamp suffix, and TSO timestamps.
export {};

// Masking of personal names for pages and logs (个人信息去标识化展示).

/** `张三` → `张*`, `欧阳娜娜` → `欧***`, `李` → `*`. */
export function maskName(name: string): string {
  // Code points, not UTF-16 units: rare characters in names (e.g. 𠮷) lie
  // outside the BMP and must count as one character each.
  const characters = Array.from(name.trim());
  if (characters.length <= 1) return '*'.repeat(characters.length);
  return `${characters[0]}${'*'.repeat(characters.length - 1)}`;
}

/** `91350100M000100Y43` → `9135**********0Y43`: a credit code shown like an ID number (first and last four). */
export function maskCreditCode(code: string): string {
  const characters = Array.from(code.trim());
  if (characters.length <= 8) return '*'.repeat(characters.length);
  return `${characters.slice(0, 4).join('')}${'*'.repeat(characters.length - 8)}${characters.slice(-4).join('')}`;
}

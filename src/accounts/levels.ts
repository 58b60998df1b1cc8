/** Certification levels in the words a person reads, with the code sites use. */
const LEVEL_WORDS: Record<string, string> = {
  L1: '未实名用户',
  L2: '实名用户',
  L3: '高级认证用户',
};

/** `实名用户（L2）`: pages show a level in words, with its code in brackets. */
export function levelName(level: string): string {
  const words = LEVEL_WORDS[level];
  return words ? `${words}（${level}）` : level;
}

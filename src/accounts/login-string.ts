import { parseCreditCode } from '../identifiers/credit-code.js';
import { parseIdNumber } from '../identifiers/id-number.js';

/**
 * Why a login string can not be any account's, when the reason is a typo the person can see: an
 * ID number or credit code whose check character (or birth date) is wrong. The check is public
 * arithmetic (GB 11643-1999, GB 32100-2015), so saying so tells nothing about any account, while
 * "账号或密码错误" would send the person looking at their password.
 */
export function mistypedLogin(login: string, kind?: 'credit_code'): string | undefined {
  const again = '，请检查后重新输入';
  const creditCode = parseCreditCode(login);
  if (kind === 'credit_code') {
    return !creditCode.ok && creditCode.reason === 'check_character' ? creditCode.message + again : undefined;
  }
  const id = parseIdNumber(login);
  // An all-digit credit code is not an ID number with a typo.
  if (id.ok || id.reason === 'format' || creditCode.ok) return undefined;
  return id.message + again;
}

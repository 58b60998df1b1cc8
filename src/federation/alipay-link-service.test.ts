import { describe, expect, it } from 'vitest';
import type { AccountService } from '../accounts/account-service.js';
import { DataProtector } from '../crypto/sealed.js';
import type { AlipayClient, AlipayToken, AlipayUserInfo } from '../outside/alipay/client.js';
import { AlipayLinkService, maskAlipayUser } from './alipay-link-service.js';
import type { AlipayLinkStore } from './alipay-link-store.js';

/** An Alipay that answers with the given token and user info (signatures are the client's concern). */
function serviceAnswering(token: Partial<AlipayToken>, info: Partial<AlipayUserInfo>) {
  const client: AlipayClient = {
    authorizeUrl: () => 'https://openauth.alipay.com/',
    exchangeCode: async () => ({ accessToken: 'authusrB1', ...token }),
    userInfo: async () => ({ isCertified: false, ...info }),
  };
  return new AlipayLinkService(
    {} as AlipayLinkStore,
    {} as AccountService,
    new DataProtector(Buffer.alloc(32, 1)),
    client,
  );
}

const certified = {
  userId: '2088000000000001',
  isCertified: true,
  certType: '0',
  userName: '张三',
  certNo: '33010619850612100x', // lower-case check character, as people type it
  mobile: '13800138000',
};

describe('the profile behind an auth_code', () => {
  it('carries the certified name, the normalised ID number and the mobile in E.164', async () => {
    const profile = await serviceAnswering({ userId: certified.userId }, certified).fetchProfile('code');
    expect(profile).toEqual({
      subject: { kind: 'user_id', id: '2088000000000001' },
      identity: { realName: '张三', idNumber: '33010619850612100X' },
      mobile: '+8613800138000',
    });
  });

  it('identifies newer apps’ users by open_id', async () => {
    const profile = await serviceAnswering(
      { openId: '074aOpen' },
      { ...certified, userId: undefined, openId: '074aOpen' },
    ).fetchProfile('code');
    expect(profile.subject).toEqual({ kind: 'open_id', id: '074aOpen' });
  });

  it('has no identity unless Alipay certifies a resident ID card with a valid number', async () => {
    for (const info of [
      { ...certified, isCertified: false },
      { ...certified, certType: '1' }, // passport
      { ...certified, certNo: '330106198506123516' }, // wrong check character
      { ...certified, userName: undefined },
    ]) {
      const profile = await serviceAnswering({ userId: certified.userId }, info).fetchProfile('code');
      expect(profile.identity).toBeUndefined();
    }
  });

  it('refuses user info about another user than the token’s', async () => {
    await expect(
      serviceAnswering({ userId: '2088000000000009' }, certified).fetchProfile('code'),
    ).rejects.toMatchObject({ kind: 'gateway' });
  });
});

describe('the Alipay user id on pages', () => {
  it('shows only its first and last four characters', () => {
    expect(maskAlipayUser('2088000000000001')).toBe('2088********0001');
    expect(maskAlipayUser('074aDevZhangSan0000000000000000000000000000001')).toBe('074a********0001');
    expect(maskAlipayUser('short')).toBe('*****');
  });
});

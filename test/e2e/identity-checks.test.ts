import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KnownPerson, startFakeIdentityVerifier } from '../fakes/fake-identity-verifier.js';
import { type FakeSmsGateway, startFakeSmsGateway } from '../fakes/fake-sms-gateway.js';
import type { SignedJsonServer } from '../fakes/signed-json-server.js';
import { addCitizen, continueFrom, messageOf, randomIdNumber, submit } from '../support/citizen.js';
import { databaseKinds } from '../support/databases.js';
import {
  beginAuthorization,
  interactionUid,
  type RelyingParty,
  registerRelyingParty,
} from '../support/relying-party.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { UserAgentAt } from '../support/user-agent.js';

const PASSWORD = 'Zheng-Shi#2024';
const secret = 'identity-checks-shared-secret';
const known: KnownPerson = { name: '郑十', idNumber: randomIdNumber('19800101') };
const holderIdentity: KnownPerson = { name: '冯十一', idNumber: randomIdNumber('19770707') };

describe.each(databaseKinds())('实名认证 can not be used as a name/ID oracle (%s)', (kind) => {
  let server: TestServer;
  let rp: RelyingParty;
  let gateway: FakeSmsGateway;
  let verifier: SignedJsonServer;

  beforeAll(async () => {
    gateway = await startFakeSmsGateway(secret);
    verifier = await startFakeIdentityVerifier(secret, [known, holderIdentity]);
    server = await startTestServer({
      kind,
      env: {
        TRUST_PROXY: 'true',
        SMS_GATEWAY: 'http',
        SMS_GATEWAY_URL: gateway.url,
        SMS_GATEWAY_APP_ID: 'unified-id',
        SMS_GATEWAY_SECRET: secret,
        IDENTITY_VERIFIER: 'http',
        IDENTITY_VERIFIER_URL: verifier.url,
        IDENTITY_VERIFIER_APP_ID: 'unified-id',
        IDENTITY_VERIFIER_SECRET: secret,
      },
    });
    rp = await registerRelyingParty(server, { firstParty: true });
  });
  afterAll(async () => {
    await server?.close();
    await gateway?.close();
    await verifier?.close();
  });

  /** A citizen who has just registered from `ip`, at the 实名认证 step of the sign-in. */
  async function justRegistered(ip: string) {
    const ua = new UserAgentAt(ip);
    const { page } = await beginAuthorization(ua, rp);
    const uid = interactionUid(page);
    const { id } = await addCitizen(server, PASSWORD);
    await server.services.flowStates.put('register', uid, { accountId: id });
    return { ua, id, form: await ua.get(`${server.url}/interaction/${uid}/realname`) };
  }

  const tryIdentity = async (
    who: Awaited<ReturnType<typeof justRegistered>>,
    realName: string,
    idNumber: string,
  ) => {
    const res = await submit(who.ua, who.form, '/realname', { real_name: realName, id_number: idNumber });
    return { status: res.status, message: messageOf(res) };
  };

  it('answers a wrong name, an unknown number and a number of another account alike; that account hears of it', async () => {
    const holderIdNumber = holderIdentity.idNumber;
    const holder = await addCitizen(server, PASSWORD, {
      realName: holderIdentity.name,
      idNumber: holderIdNumber,
    });
    const answers = [];
    for (const [i, [name, idNumber]] of (
      [
        ['郑九', known.idNumber],
        ['郑十', randomIdNumber('19810202')],
        ['冯十二', holderIdNumber],
      ] as const
    ).entries()) {
      answers.push(await tryIdentity(await justRegistered(`10.30.0.${i}`), name, idNumber));
    }
    expect(answers[0]).toEqual({ status: 400, message: expect.stringContaining('实名核验未通过') });
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
    const notice = gateway.received.at(-1)!;
    expect(notice['phone']).toBe(`+86${holder.phone}`);
    expect(notice['templateId']).toBe('UNIFIED_ID_NOTICE_ID_NUMBER_TRIED');
  });

  it('an account may try five times a day, then hears 今日验证次数已达上限 without the service being asked', async () => {
    const who = await justRegistered('10.31.0.1');
    for (let i = 0; i < 5; i++)
      expect((await tryIdentity(who, '郑九', known.idNumber)).message).toContain('实名核验未通过');
    const before = verifier.received.length;
    expect(await tryIdentity(who, known.name, known.idNumber)).toEqual({
      status: 429,
      message: '今日验证次数已达上限，请明天再试',
    });
    expect(verifier.received.length).toBe(before);
  });

  it('an address may try twenty times a day, over any number of accounts', async () => {
    for (let n = 0; n < 4; n++) {
      const who = await justRegistered('10.32.0.1');
      for (let i = 0; i < 5; i++) await tryIdentity(who, '郑九', known.idNumber);
    }
    const fresh = await justRegistered('10.32.0.1');
    expect(await tryIdentity(fresh, known.name, known.idNumber)).toMatchObject({
      status: 429,
      message: '今日验证次数已达上限，请明天再试',
    });
    // The same person from another address gets through.
    const elsewhere = await justRegistered('10.32.0.2');
    const verified = await submit(elsewhere.ua, elsewhere.form, '/realname', {
      real_name: known.name,
      id_number: known.idNumber,
    });
    // 实名认证 says it succeeded before its 继续 goes on to the site.
    expect(messageOf(verified)).toContain('实名认证成功');
    const done = await continueFrom(elsewhere.ua, verified, rp.redirectUri);
    expect(done.location).toContain(rp.redirectUri);
  });
});

describe('the identity verification service has a daily budget', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { IDENTITY_VERIFIER_DAILY_LIMIT: '2' } });
  });
  afterAll(() => server?.close());

  it('once it is spent, 实名认证 answers 今日验证次数已达上限 for everyone', async () => {
    const verify = async () => {
      const { id } = await addCitizen(server, PASSWORD);
      return server.services.realName.verify(id, {
        realName: '褚十三',
        idNumber: randomIdNumber('19900909'),
        ip: `10.40.0.${id.slice(0, 2).charCodeAt(0) % 200}`,
      });
    };
    await verify();
    await verify();
    await expect(verify()).rejects.toMatchObject({
      status: 429,
      userMessage: '今日验证次数已达上限，请明天再试',
    });
  });
});

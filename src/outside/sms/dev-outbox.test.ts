import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEmbeddedCopy } from '../../../test/support/embedded-template.js';
import type { Database } from '../../db/database.js';
import { migrate } from '../../db/migrate.js';
import { createOutsideServices } from '../factory.js';
import { DevSmsOutbox, listOutbox } from './dev-outbox.js';
import { HttpSmsGateway } from './http-gateway.js';
import { SMS_TEMPLATE_VERIFICATION_CODE, smsText } from './sms-gateway.js';

let database: Database;

beforeAll(async () => {
  database = openEmbeddedCopy();
  await migrate(database.db);
});

afterAll(async () => {
  await database.close();
});

function codeMessage(phone: string, code: string) {
  return { phone, templateId: SMS_TEMPLATE_VERIFICATION_CODE, params: { code }, text: smsText(code) };
}

describe('the development SMS outbox', () => {
  it('stores messages in the database and lists one phone’s, newest first', async () => {
    const outbox = new DevSmsOutbox(database.db, false);
    expect(outbox.kind).toBe('dev');
    await outbox.send(codeMessage('+8613800000001', '111111'));
    await outbox.send(codeMessage('+8613800000002', '999999'));
    await outbox.send(codeMessage('+8613800000001', '222222'));
    await outbox.send(codeMessage('+8613800000001', '333333'));

    const listed = await listOutbox(database.db, '+8613800000001', 10);
    expect(listed.map((m) => m.code)).toEqual(['333333', '222222', '111111']);
    expect(listed[0]).toEqual({
      phone: '+8613800000001',
      code: '333333',
      text: '【统一身份认证】您的验证码为333333，5分钟内有效。如非本人操作，请忽略本短信。',
      sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(Math.abs(Date.parse(listed[0]!.sentAt) - Date.now())).toBeLessThan(60_000);
    expect(await listOutbox(database.db, '+8613800000001', 2)).toHaveLength(2);
    expect(await listOutbox(database.db, '+8613800000003', 10)).toEqual([]);
  });

  it('keeps the template and parameters as sent', async () => {
    const outbox = new DevSmsOutbox(database.db, false);
    await outbox.send({
      phone: '+8613800000004',
      templateId: 'OTHER',
      params: { name: '张三' },
      text: '通知',
    });
    const row = await database.db('dev_sms_outbox').where({ phone: '+8613800000004' }).first();
    expect(row).toMatchObject({ template_id: 'OTHER', params: { name: '张三' }, text: '通知' });
    // A message without a code lists with code null rather than disappearing.
    expect(await listOutbox(database.db, '+8613800000004', 5)).toMatchObject([{ code: null, text: '通知' }]);
  });

  it('is refused in production', () => {
    expect(() => new DevSmsOutbox(database.db, true)).toThrow(
      'the development SMS outbox is refused in production',
    );
  });
});

describe('createOutsideServices: the SMS gateway', () => {
  const http = {
    kind: 'http' as const,
    url: 'https://sms.example.gov.cn/send',
    appId: 'unified-id',
    secret: 'a-shared-secret-of-some-length',
    timeoutMs: 5_000,
  };

  it('picks the dev outbox or the HTTP gateway from the settings', () => {
    const dev = createOutsideServices(
      {
        production: false,
        sms: { kind: 'dev' },
        identityVerifier: { kind: 'dev' },
        enterpriseVerifier: { kind: 'dev' },
      },
      database.db,
    );
    expect(dev.sms).toBeInstanceOf(DevSmsOutbox);
    const real = createOutsideServices(
      {
        production: true,
        sms: http,
        identityVerifier: { ...http, url: 'https://idv.example.gov.cn/verify' },
        enterpriseVerifier: { ...http, url: 'https://registry.example.gov.cn/verify' },
      },
      database.db,
    );
    expect(real.sms).toBeInstanceOf(HttpSmsGateway);
    expect(real.sms.kind).toBe('http');
  });

  it('refuses SMS_GATEWAY=dev in production, naming the setting', () => {
    expect(() =>
      createOutsideServices(
        { production: true, sms: { kind: 'dev' }, identityVerifier: http, enterpriseVerifier: http },
        database.db,
      ),
    ).toThrow(/^SMS_GATEWAY=dev .*refused in production/);
  });
});

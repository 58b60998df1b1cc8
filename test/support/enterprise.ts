import { addCitizen, randomIdNumber } from './citizen.js';
import type { TestServer } from './server.js';

/**
 * An enterprise (企业) registered through the legal-person service under a new real-name
 * representative, without the registration pages (so without the representative's SMS
 * confirmation, which test/e2e/legal-person.test.ts walks): for tests of what comes after 法人注册.
 */
export async function addEnterprise(
  server: Pick<TestServer, 'services'>,
  enterprise: { orgName: string; creditCode: string; password: string; representativeName?: string },
): Promise<{ accountId: string; representative: { name: string; idNumber: string; phone: string } }> {
  const name = enterprise.representativeName ?? '陈嘉庚';
  const idNumber = randomIdNumber('19680808');
  const { phone } = await addCitizen(server, enterprise.password, { realName: name, idNumber });
  const accountId = await registerEnterpriseUnder(server, { name, idNumber, phone }, enterprise);
  return { accountId, representative: { name, idNumber, phone } };
}

/** An enterprise under an existing real-name citizen, as if the citizen had confirmed by SMS. */
export async function registerEnterpriseUnder(
  server: Pick<TestServer, 'services'>,
  representative: { name: string; idNumber: string; phone: string },
  enterprise: { orgName: string; creditCode: string; password: string },
): Promise<string> {
  const { legalPersons } = server.services;
  const checked = await legalPersons.check({
    legalType: 'enterprise',
    orgName: enterprise.orgName,
    creditCode: enterprise.creditCode,
    representativeName: representative.name,
    representativeIdNumber: representative.idNumber,
    contactPhone: `+86${representative.phone}`,
    password: enterprise.password,
  });
  const found = await legalPersons.findRepresentative(
    checked.representativeName,
    checked.representativeIdNumber,
  );
  if (!found) throw new Error('the representative is not a real-name citizen with a phone');
  return legalPersons.register(await legalPersons.withPasswordHashed(checked), found.accountId);
}

import { addCitizen, randomIdNumber } from './citizen.js';
import type { TestServer } from './server.js';

/**
 * An enterprise (企业) registered through the legal-person service under a new real-name
 * representative, without the registration pages: for tests of what comes after 法人注册.
 */
export async function addEnterprise(
  server: Pick<TestServer, 'services'>,
  enterprise: { orgName: string; creditCode: string; password: string; representativeName?: string },
): Promise<{ accountId: string; representative: { name: string; idNumber: string; phone: string } }> {
  const name = enterprise.representativeName ?? '陈嘉庚';
  const idNumber = randomIdNumber('19680808');
  const { phone } = await addCitizen(server, enterprise.password, { realName: name, idNumber });
  const registration = {
    legalType: 'enterprise' as const,
    orgName: enterprise.orgName,
    creditCode: enterprise.creditCode,
    representativeName: name,
    representativeIdNumber: idNumber,
    contactPhone: `+86${phone}`,
    password: enterprise.password,
  };
  const legalPersons = server.services.legalPersons;
  const accountId = await legalPersons.register(registration, await legalPersons.check(registration));
  return { accountId, representative: { name, idNumber, phone } };
}

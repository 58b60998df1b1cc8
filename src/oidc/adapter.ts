import { errors } from 'oidc-provider';
import type { ClientService } from '../clients/client-service.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import type { ResourceServerService } from '../resources/resource-server-service.js';
import type { ModelPayload, ModelStore } from './model-store.js';
import { temporarilyUnavailable } from './protocol-errors.js';

/** A database that can not be reached becomes OAuth's temporarily_unavailable (503), not a 500. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw temporarilyUnavailable(err);
    throw err;
  }
}

/**
 * oidc-provider's adapter interface over the database. Clients come from the relying-party
 * registry, and registered APIs (`api_…`, which only introspect) from theirs; every other model is
 * a row in oidc_models.
 */
export function createAdapterFactory(
  models: ModelStore,
  clients: ClientService,
  apis: Pick<ResourceServerService, 'providerMetadata'>,
) {
  return class DatabaseAdapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: ModelPayload, expiresIn?: number) {
      if (this.model === 'Client') throw new Error('clients are managed by the admin CLI/API');
      await guard(() => models.upsert(this.model, id, payload, expiresIn));
    }

    async find(id: string) {
      if (this.model === 'Client')
        return guard(async () => (await apis.providerMetadata(id)) ?? clients.providerMetadata(id));
      return guard(() => models.find(this.model, { id }));
    }

    async findByUid(uid: string) {
      return guard(() => models.find(this.model, { uid }));
    }

    async findByUserCode(userCode: string) {
      return guard(() => models.find(this.model, { user_code: userCode }));
    }

    /** Atomic: of parallel redemptions of one code or refresh token exactly one proceeds. */
    async consume(id: string) {
      if (!(await guard(() => models.consume(this.model, id)))) {
        throw new errors.InvalidGrant('grant already used');
      }
    }

    async destroy(id: string) {
      await guard(() => models.destroy(this.model, id));
    }

    async revokeByGrantId(grantId: string) {
      await guard(() => models.revokeByGrantId(grantId));
    }
  };
}

import { AppError } from '../../errors.js';

export interface EnterpriseQuery {
  creditCode: string;
  orgName: string;
  legalType: string;
  representativeName: string;
  representativeIdNumber: string;
}

/** The enterprise registry check: do code, name and legal representative belong together? */
export interface EnterpriseVerifier {
  readonly kind: 'dev' | 'http';
  verify(query: EnterpriseQuery): Promise<'match' | 'mismatch' | 'not_found'>;
}

export class EnterpriseVerifierUnavailable extends AppError {
  override name = 'EnterpriseVerifierUnavailable';
  constructor(detail: string, options?: { cause?: unknown }) {
    super(503, 'enterprise_verifier_unavailable', '企业信息核验服务暂不可用，请稍后重试', {
      detail,
      ...options,
    });
  }
}

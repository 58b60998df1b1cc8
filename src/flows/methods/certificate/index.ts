import type { CertificateService } from '../../../certificates/certificate-service.js';
import { proofOf } from '../../../certificates/proof-input.js';
import { parseBody } from '../../../web/body.js';
import { jsonAnswer } from '../../../web/page-kit.js';
import type { FactorSpec } from '../../assurance.js';
import { type LoginRecorder, recordLoginFailure } from '../../complete-login.js';
import { type FlowDeps, type PageDeps, renderPage } from '../../flow-kit.js';
import { interactionOf } from '../../interaction.js';
import type { LoginMethod, MethodSources } from '../login-method.js';

/** A CA certificate's key on a USB key (hwk) or in a file (swk): HardwareKeyPolicy tells which. */
export const CERTIFICATE_FACTORS: readonly FactorSpec[] = [
  { amr: 'hwk', kind: 'certificate' },
  { amr: 'swk', kind: 'certificate' },
];

interface CertificateDeps
  extends PageDeps,
    Pick<FlowDeps, 'host' | 'csrf'>,
    Pick<LoginRecorder, 'audit' | 'metrics'> {
  certificates: CertificateService;
  bridgeUrl: string;
}

type Sources = Pick<MethodSources, 'flow'> & {
  services: { certificates: CertificateService };
  config: { certBridgeUrl: string };
};

/**
 * 证书登录 (法人): the page asks the bridge (USB key) or a PKCS#12 file to sign a single-use
 * challenge; CertificateService proves it and says whether the key is hardware.
 */
export const certificateMethod: LoginMethod<Sources, CertificateDeps> = {
  id: 'certificate',
  tab: 'legal',
  factors: CERTIFICATE_FACTORS,
  deps: ({ flow, services, config }) => ({
    host: flow.host,
    views: flow.views,
    csrf: flow.csrf,
    devVerifier: flow.devVerifier,
    alipayConfigured: flow.alipayConfigured,
    audit: flow.audit,
    metrics: flow.metrics,
    certificates: services.certificates,
    bridgeUrl: config.certBridgeUrl,
  }),
  link: { label: '证书登录', path: 'cert/login', style: 'link' },
  // The page's script posts the signed challenge here and follows `redirectTo`.
  form: {
    action: 'cert/login',
    answer: 'script',
    async prove({ ctx, interaction }, deps) {
      let proved: Awaited<ReturnType<CertificateService['login']>>;
      try {
        proved = await deps.certificates.login(proofOf(ctx), interaction.uid);
      } catch (err) {
        await recordLoginFailure(deps, ctx, { method: 'certificate' });
        throw err;
      }
      return {
        accountId: proved.accountId,
        verified: [proved.factor],
        method: 'certificate',
        detail: { fingerprint: proved.fingerprint },
      };
    },
  },
  routes(router, deps) {
    // 证书助手使用说明: install, allow, sign in, and what each message means (docs/helper-clerk.md).
    router.get('/help/cert-bridge', (ctx) => {
      renderPage(ctx, deps, 'cert-bridge', { title: '证书助手使用说明', issuer: ctx.origin });
    });

    router.get('/interaction/:uid/cert/login', async (ctx) => {
      const { uid } = await interactionOf(deps, ctx);
      renderPage(ctx, deps, 'cert', {
        title: '数字证书登录',
        uid,
        mode: 'login',
        endpoint: `/interaction/${uid}/cert`,
        bridgeUrl: deps.bridgeUrl,
        softwareCertificates: deps.certificates.softwareAllowed,
      });
    });

    router.post('/interaction/:uid/cert/challenge', parseBody, async (ctx) => {
      const interaction = await interactionOf(deps, ctx);
      deps.csrf.verify(ctx, ctx.get('x-csrf-token'));
      await jsonAnswer(ctx, () => deps.certificates.challenge('login', interaction.uid));
    });
  },
};

import { ACR, ACR_VALUES, type Acr } from '../access/scopes.js';

/**
 * What the server itself verified in a sign-in, as its RFC 8176 amr value (`pwd`, `sms`, `hwk`
 * …). Never what a page claims. Which values exist is not listed here: each sign-in method
 * declares the factors it proves (FactorSpec), and the registry's table is the one list.
 */
export type Factor = string;

/**
 * What kind of proof a factor is, which alone decides what it counts towards:
 * - `knowledge`: something known (a password);
 * - `possession`: something held, shown by a code sent to it (an SMS code);
 * - `second`: a code of a second factor the account turned on (TOTP, a recovery code): with any
 *   other factor it makes mfa;
 * - `certificate`: a CA certificate's private key: cert on its own;
 * - `outside`: another party's assertion (Alipay): how it authenticated the person is not known
 *   here, so it never counts towards mfa.
 */
export type FactorKind = 'knowledge' | 'possession' | 'second' | 'certificate' | 'outside';

/** A factor as a method declares it at registration. */
export interface FactorSpec {
  amr: Factor;
  kind: FactorKind;
}

export interface Assurance {
  acr: Acr;
  amr: string[];
}

/** Whether acr `have` is below `want` in basic < mfa < cert. */
export function acrBelow(have: string, want: Acr): boolean {
  return ACR_VALUES.indexOf(have as Acr) < ACR_VALUES.indexOf(want);
}

/**
 * The factors the registered methods declare, by amr value: the one list of factors. Two
 * methods may prove the same factor (a citizen's and a legal person's password); they must
 * then declare it alike.
 */
export class FactorTable {
  private readonly byAmr = new Map<Factor, FactorSpec>();

  constructor(specs: Iterable<FactorSpec>) {
    for (const spec of specs) {
      const known = this.byAmr.get(spec.amr);
      if (known && known.kind !== spec.kind) {
        throw new Error(`factor "${spec.amr}" is declared both ${known.kind} and ${spec.kind}`);
      }
      this.byAmr.set(spec.amr, spec);
    }
  }

  /**
   * The declared factors among stored values (a session's amr, a flow state read back), in their
   * order: a value no registered method declares is dropped, which can only lower the assurance.
   */
  known(values: readonly string[] | undefined): Factor[] {
    return values?.filter((v) => this.byAmr.has(v)) ?? [];
  }

  /**
   * acr and amr from the verified factors; the one place they are decided.
   * - cert: a certificate factor;
   * - mfa: a knowledge and a possession factor, or a second factor after any other factor;
   * - basic: anything else (an outside assertion with a code or a password stays basic).
   * amr keeps the order the factors were verified in, without repeats, with `mfa` last when mfa.
   */
  assuranceOf(verified: readonly Factor[]): Assurance {
    const factors = [...new Set(this.known(verified))];
    const kinds = new Set(factors.map((f) => this.byAmr.get(f)!.kind));
    let acr: Acr = ACR.basic;
    if (kinds.has('certificate')) acr = ACR.cert;
    else if (
      (kinds.has('knowledge') && kinds.has('possession')) ||
      (kinds.has('second') && factors.length > 1)
    )
      acr = ACR.mfa;
    return { acr, amr: acr === ACR.mfa ? [...factors, 'mfa'] : factors };
  }
}

import { AppError } from '../errors.js';

export class CertificateRefused extends AppError {
  override name = 'CertificateRefused';
  constructor(message: string, code = 'certificate_refused') {
    super(400, code, message);
  }
}

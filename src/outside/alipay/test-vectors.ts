/**
 * Fixed test vectors for Alipay RSA2 signing. The key pair below was generated
 * once for these tests and is used nowhere else: it is NOT a secret and must
 * never be configured for a real Alipay app. RSA PKCS#1 v1.5 signatures are
 * deterministic, so a parameter set signed with it always gives the same sign.
 * The expected signatures were computed with plain node:crypto over the
 * hand-written signing strings, independently of signing.ts.
 */

/** PKCS#8, as Alipay's key tool writes the app private key (应用私钥). */
export const TEST_APP_PRIVATE_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIIEuwIBADANBgkqhkiG9w0BAQEFAASCBKUwggShAgEAAoIBAQCvMgtLqXW6lbGl
iZDAwsoOc8RYfFVU6CWxUozXynXBYJt3R7jNlO7Lbh6mWae7djC2kCd8KlGV9Mmb
WCTcIXlkF397KBpmCrRJaVgl6kI71TpuRdvToUHIiFh3JKl/6rbLqbP4ytq4VdWT
23W+DqqKpqwT4aPLdshg6Nv7vbB0SAwXIoFaf38c7JMVdvXvrAy3u/a3GB0bw20F
Vz1SAY7XnZVemtCuAJo6irdnbY7ddAGtjseS8ltc9M9bhFRP3oPBmrC+U/27l/fF
YyEwpFS4zs8Oig8V5CaFDpuFoBCdKVOqbgYPcbAdH6jlVnCsvVLUWHoWGxakCM1Y
hRDqE3T9AgMBAAECgf9q7eB3DbcNatBCePQgssMgjwgH+dsbN5XJ5NiR3MCChrRc
2SmyUHRvNYb/gTke8cRJqTJwVmP1YrKqXeIheUzeCnmEcbWrEl13cRScD57dZgeD
xp+lS4cbHhzgmz/ZEyj+pVVzRFy6paj11bzHg6wTdCcS+2U9igJDI90giWZpkYpf
Wd5MH2VHjz0Jrwr9MSJFD+yzl5331t012nwJhwlvGNZovliJ+7oCYBc7k0HVxTsi
KP4J7KDJVC0wvhNVbKWA0v+c72xnImFjbDbCYrvum3O3z3YVvSkrPGf1rm3NVAQW
IN0WmXp3hc/YQEpHtOgE36vkTc9pe4yeV+iXyUECgYEA9hcgqNVsUwu6KRQwumL6
R7RcGROiUZZtL+kKxEZUUbZOd/Pl03v5RiLiCOgwah48bvFlzf8+ahhCFAJu8pgo
IKuS9Lge9Og970Y8j8oyyz008Jdkqq28WxUP6pTi/AsYLVW27A2SBsA2hE5pDRFz
kkIDzaK8Wh+xoQiMC+xEHsECgYEAtkAVHK4MtkM92nxIJfef9JbrOIwV1hJPjOax
u/1SL60sQ3/flEjWJqOTN/IQg4L17dLdz+Gp1rVop6fcAvmofjz9fd4syF+/+BNW
u7NI/1Ytg9IOkgtCBB0D5KOXK4kLTcraaLSFB98pZyl1+XgRVOL5BU70uoZRgIY3
O/txYT0CgYAt8D9OhRjFn+jOhlBaWuOxwv92Ru4EIPqc+PnjjeVro4aeac87XWc5
KoXbd8yh4qcRZsrEW6OBFqovJg0kCDdlceHrAPv2Z+w34HqptOsqeXCKgRhvrCL/
Nb1U4xpERqXqwJd3FUlvLS6AIEsH/3v9j4k6N+jFQilckEXka+SDgQKBgCVsz2kO
TMn40PDW6LHzQcOmYjNAgRNuuytCDGmAQapMs3RBBBadRmy01nx8luuKrxnhXW9c
9dWDdzRGgiWSQwl5WMzKHQQgtXkp73un+2uDtOEG97sB2NKjarM+7MIh6FJXP7aU
q2TMbOIkX3eVMmnuGhj+97596qqr5RfKMKQ5AoGBAMRyuxAq0TZkk68GHxaGtEE9
lyp1EmJXdWPJNiZQZvVEx0Qn+nk8FOT3zfP2YCIDxbCfzfw0gYIRbYokN+KDb+lS
HHQrpwqpL84g5p7DC6rKD1jGItqzhED1eq7jFCpSX/te2PAXsx1tj6m4TEwfVlUK
eI/KrMfcYtqNh+ADC4LE
-----END PRIVATE KEY-----`;

/** The matching SPKI public key as the bare base64 body the key tool prints (应用公钥). */
export const TEST_APP_PUBLIC_KEY_BASE64 =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArzILS6l1upWxpYmQwMLKDnPEWHxVVOglsVKM18p1wWCbd0e4zZTuy24eplmnu3YwtpAnfCpRlfTJm1gk3CF5ZBd/eygaZgq0SWlYJepCO9U6bkXb06FByIhYdySpf+q2y6mz+MrauFXVk9t1vg6qiqasE+Gjy3bIYOjb+72wdEgMFyKBWn9/HOyTFXb176wMt7v2txgdG8NtBVc9UgGO152VXprQrgCaOoq3Z22O3XQBrY7HkvJbXPTPW4RUT96DwZqwvlP9u5f3xWMhMKRUuM7PDooPFeQmhQ6bhaAQnSlTqm4GD3GwHR+o5VZwrL1S1Fh6FhsWpAjNWIUQ6hN0/QIDAQAB';

/** A token request: its signing string and sign. */
export const TOKEN_REQUEST_VECTOR = {
  params: {
    app_id: '2021000000000000',
    method: 'alipay.system.oauth.token',
    format: 'JSON',
    charset: 'utf-8',
    sign_type: 'RSA2',
    timestamp: '2024-06-01 12:00:00',
    version: '1.0',
    grant_type: 'authorization_code',
    code: '4b203fe6c11548bcabd8da5bb087a83b',
    // Left out of the signature: empty.
    app_auth_token: '',
  },
  content:
    'app_id=2021000000000000&charset=utf-8&code=4b203fe6c11548bcabd8da5bb087a83b&format=JSON' +
    '&grant_type=authorization_code&method=alipay.system.oauth.token&sign_type=RSA2' +
    '&timestamp=2024-06-01 12:00:00&version=1.0',
  sign: 'SIb75QfSn6Ec5V1XtoIcaiJS02vc3/LzryDCNw/JyKuRWcgsBOnIo7QNrwg6GjfjJgCuMJx/BqR6vT5p99rElJ6vGUmzC0P9rQYUxot3rijBgbnE/K4p64QYDdPgPxeud0fkgytD0Mh8pZLI5k59DuiIzF/bUw3WogsDRY1C6vsuiXAFWkNzry+b6GOxR11Ha1D3V41APxOCIZ0o9FqoN8MVdiAIgfxnLEXRIkeY8LBJXaCIPyV6ViQL26gMAE9TWw3wnw+umW430DOsueNy6gu8/lLw9q/0bh93fU7tZ5Cl9nc01P5VLZyZIhc3E2YZt5S7XWTx3LOhbDNLP7/IGQ==',
} as const;

/** ASCII order puts upper case first; values stay raw (no URL-encoding), Chinese and & included. */
export const RAW_VALUES_VECTOR = {
  params: {
    auth_token: 'authusrB0123456789abcdef',
    a: '中文 value+/=&b',
    Z_upper: '1',
    empty: '',
    sign: 'a previous sign is never signed',
  },
  content: 'Z_upper=1&a=中文 value+/=&b&auth_token=authusrB0123456789abcdef',
  sign: 'XOJNqJx3HRCW3GEHyM3WwEMByUxgV/6go5PuaM14tW0kFYpygk8WG4+AJbru6yK6rDXC5Vm8SWHwdFsqgyisz2Ps/MnWzYAi36xLuBwTQHa32VgNRpsTdJ3OBgCL+5ShtGoQhaCQEjcelv873jO5GzBhRay6xb6bPnuK654Aa2KbqkGRPIQmjEo+mPSsPTiy5T4/Or/PqylX+DBvTtDaDyFKSQ7nydgBXe3DJ2WSisYSt5DNfpQTFyY8uKbeLjbDExYATLCgqGvLR9TL56Z+6vZR38F+l2tjcqPzzszoYIZqvO0jsag4FgJjfNXXkKkfwqKfnuoAETu3j/WpFGHQJQ==',
} as const;

/**
 * A response node as Alipay writes it (escaped slashes, \u escapes), signed with
 * the test key above standing in for Alipay's key.
 */
export const RESPONSE_NODE_VECTOR = {
  nodeText: String.raw`{"code":"10000","msg":"Success","user_id":"2088000000000001","avatar":"https:\/\/tfs.alipayobjects.com\/images\/partner\/x","nick_name":"\u4e09\u54e5"}`,
  sign: 'E7DF6nuX+SmHoDlINK2ENz+IXh0cu8tvFrTym3VhuAeAM1qkLH9LgpN8lxMWv74/mzXjIvkyndu3Oe3QzmLbADMamH/xdJWoe80L1xjSRC/dDnkcmrPNgtBylIDuBPz35DZskprpGcIcc+1io7ysYff2lcIsz3P0h/lYb5w922Z9JFBJOa+XZ0malBeVQ/2VYRS3SL4Z/znWPcvh2Co7kUePHbcxsLT/F1IGRqc9R4QTRi0lERwOimfyF/JE8lECprtOSEeyRTL8OrSmp9d/QWLr5KnGm59sjC0XF6o+3WHEkrSr2jPAnfiA7OmItgq41WGQT2KPapfVDr0CQ+KGhQ==',
} as const;

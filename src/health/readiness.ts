/** Something whose health decides whether this instance should get traffic. */
export interface ReadinessCheck {
  readonly name: string;
  isReady(): Promise<boolean>;
}

/** Injection token of the list of readiness checks. */
export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** The codes `@wifkit/setup` throws. */
export const SETUP_ERROR_CODES = Object.freeze({
  /** A plan option Google would refuse (an id, an account, a mapping...); `field` names it. */
  invalidOption: "ERR_WIF_INVALID_OPTION",
  /** `applySetupPlan`: an admin API refused a step; the message names the step, the status and Google's text. */
  stepFailed: "ERR_WIF_SETUP_STEP_FAILED",
} as const);

export type SetupErrorCode = (typeof SETUP_ERROR_CODES)[keyof typeof SETUP_ERROR_CODES];

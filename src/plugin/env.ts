// Hono environment shared by the app and its routes.
export type Env = { Variables: Record<string, never> };

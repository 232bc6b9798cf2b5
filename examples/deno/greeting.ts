export function greeting(name?: string): string {
  return `hello from deno${name ? `, ${name}` : ""}`;
}

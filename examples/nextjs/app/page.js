// Rendered on each request by the standalone server in the VM.
export const dynamic = "force-dynamic";

export default function Page() {
  return <main>hello from nextjs: rendered at {new Date().toISOString()}</main>;
}

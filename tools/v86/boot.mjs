// Boot runtimekit's VM image in v86 under Node, as scripts/bench-emulated.sh
// does for the browser-class figures:
//
//   node boot.mjs IMAGE_DIR TEST_DISK "COMMAND..."
//
// IMAGE_DIR is `runtimectl image build --boot` output (rootfs.ext4, vmlinuz,
// initrd.img); TEST_DISK an ext2 image mounted at /mnt/t; COMMAND what
// runtimectl boot runs after its mounts and recover. The serial console is
// copied to stdout. v86 cannot power off (its wasm stops on the poweroff,
// "Unimplemented: #GP handler"), so the run ends at runtimectl boot's last
// line, "runtimectl boot: ... exited with status N", and exits with N.
// Disks are read into memory: v86 in Node takes them as ArrayBuffers.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { V86 } from "v86";

const [imageDir, testDisk, command] = process.argv.slice(2);
if (!imageDir || !testDisk || !command) {
	console.error("usage: node boot.mjs IMAGE_DIR TEST_DISK COMMAND");
	process.exit(2);
}
const require = createRequire(import.meta.url);

// readAll reads a file of any size (readFileSync stops at 2 GiB).
function readAll(p) {
	const size = fs.statSync(p).size;
	const buf = new ArrayBuffer(size);
	const view = new Uint8Array(buf);
	const fd = fs.openSync(p, "r");
	for (let off = 0; off < size; ) {
		const n = fs.readSync(fd, view, off, Math.min(1 << 26, size - off), off);
		if (n === 0) throw new Error(`${p}: short read at ${off}`);
		off += n;
	}
	fs.closeSync(fd);
	return buf;
}

const image = JSON.parse(fs.readFileSync(path.join(imageDir, "image.json"), "utf8"));
const started = Date.now();
const emulator = new V86({
	wasm_path: require.resolve("v86/build/v86.wasm"),
	memory_size: 512 * 1024 * 1024,
	vga_memory_size: 2 * 1024 * 1024,
	bios: { buffer: readAll("/usr/share/seabios/bios.bin") },
	vga_bios: { buffer: readAll("/usr/share/seabios/vgabios-stdvga.bin") },
	bzimage: { buffer: readAll(path.join(imageDir, image.kernel)) },
	initrd: { buffer: readAll(path.join(imageDir, image.initrd)) },
	hda: { buffer: readAll(path.join(imageDir, image.image)) },
	hdb: { buffer: readAll(testDisk) },
	cmdline: `root=/dev/sda rw console=ttyS0 panic=1 quiet init=/usr/local/bin/runtimectl -- boot --mount /dev/sdb:/mnt/t ${command}`,
	autostart: true,
	disable_keyboard: true,
	disable_mouse: true,
	disable_speaker: true,
});

let line = "";
emulator.add_listener("serial0-output-byte", (byte) => {
	const c = String.fromCharCode(byte);
	process.stdout.write(c);
	if (c !== "\n") {
		line += c;
		return;
	}
	const m = line.match(/runtimectl boot: .* exited with status (\d+)/);
	line = "";
	if (m) {
		console.error(`v86: ${((Date.now() - started) / 1000).toFixed(1)} s from start to the command's end`);
		emulator.stop();
		process.exit(Number(m[1]));
	}
});

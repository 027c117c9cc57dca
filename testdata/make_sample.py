"""Write the sample shell-less Java image that the README's first command inspects.

It is shaped like ``gcr.io/distroless/java21-debian12`` (see ../shared/reference/FACTS.md, part A):
a static base (passwd, group, os-release, /tmp, /home/nonroot), a libc layer, a Temurin JRE layer at
``/usr/lib/jvm/temurin21_jre_amd64`` with a ``release`` file and ``/usr/bin/java`` as an absolute
symlink, an empty ``/bin``, no shell, ``ENTRYPOINT ["/usr/bin/java", "-jar"]``, and an app layer
that whites out a file of a lower layer. The executables are tiny but real ELF headers, so the
file stays far under 1 MB and the reports have something true to read.

    python -m testdata.make_sample testdata/sample/distroless-java.tar
"""

from __future__ import annotations

import struct
import sys

from testdata.imagebuilder import E, ImageSpec, whiteout, write_docker_archive

JRE = "usr/lib/jvm/temurin21_jre_amd64"
INTERPRETER = "/lib64/ld-linux-x86-64.so.2"
EM_X86_64 = 62


def tiny_elf(interpreter: str | None = INTERPRETER, elf_type: int = 2) -> bytes:
    """A minimal x86-64 ELF: header, one PT_INTERP (when dynamic) and one PT_LOAD program header."""
    phnum = 2 if interpreter else 1
    phoff = 64
    data_off = phoff + 56 * phnum
    interp = (interpreter.encode() + b"\0") if interpreter else b""
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", elf_type, EM_X86_64, 1, 0x401000, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    phdrs = b""
    if interpreter:
        phdrs += struct.pack("<IIQQQQQQ", 3, 4, data_off, data_off, data_off, len(interp), len(interp), 1)
    phdrs += struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, data_off + len(interp),
                         data_off + len(interp), 0x1000)
    return header + phdrs + interp


def _dir(path: str, mode: int = 0o755, uid: int = 0) -> E:
    return E(path + "/", "dir", mode=mode, uid=uid, gid=uid, mtime=946684800)


def _file(path: str, data: bytes, mode: int = 0o644) -> E:
    return E(path, "file", data, mode=mode, mtime=946684800)


def sample_spec() -> ImageSpec:
    static = [
        _dir("bin"), _dir("etc"), _dir("home"), _dir("home/nonroot", 0o700, 65532), _dir("root", 0o700),
        _dir("tmp", 0o1777), _dir("usr"), _dir("usr/bin"), _dir("usr/lib"), _dir("var"), _dir("var/lib"),
        _dir("var/lib/dpkg"), _dir("var/lib/dpkg/status.d"),
        _file("etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n"
              b"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
              b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"),
        _file("etc/group", b"root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"),
        _file("usr/lib/os-release", b'PRETTY_NAME="Distroless"\nNAME="Debian GNU/Linux"\nID="debian"\n'
              b'VERSION_ID="12"\nVERSION="Debian GNU/Linux 12 (bookworm)"\n'),
        E("etc/os-release", "symlink", target="../usr/lib/os-release", mtime=946684800),
        _file("etc/nsswitch.conf", b"passwd: compat\ngroup: compat\nhosts: files dns\n"),
    ]
    libc = [
        _dir("lib"), _dir("lib/x86_64-linux-gnu"), _dir("lib64"),
        _file("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", tiny_elf(None, elf_type=3), 0o755),
        E("lib64/ld-linux-x86-64.so.2", "symlink", target="/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
          mtime=946684800),
        _file("lib/x86_64-linux-gnu/libc.so.6", tiny_elf(None, elf_type=3), 0o755),
        _file("var/lib/dpkg/status.d/libc6", b"Package: libc6\nVersion: 2.36-9+deb12u10\nArchitecture: amd64\n"),
        _file("etc/debian_version", b"12.10\n"),
    ]
    release = (b'IMPLEMENTOR="Eclipse Adoptium"\nIMPLEMENTOR_VERSION="Temurin-21.0.10+7"\n'
               b'JAVA_RUNTIME_VERSION="21.0.10+7-LTS"\nJAVA_VERSION="21.0.10"\nJAVA_VERSION_DATE="2026-01-20"\n'
               b'LIBC="gnu"\nOS_ARCH="x86_64"\nOS_NAME="Linux"\nIMAGE_TYPE="JRE"\n')
    jre_bin = ["java", "jfr", "jrunscript", "jwebserver", "keytool", "rmiregistry"]
    jre = [_dir("usr/lib/jvm"), _dir(JRE), _dir(JRE + "/bin"), _dir(JRE + "/lib"), _dir(JRE + "/lib/server"),
           _file(JRE + "/release", release)]
    jre += [_file(f"{JRE}/bin/{name}", tiny_elf(), 0o755) for name in jre_bin]
    jre += [_file(JRE + "/lib/server/libjvm.so", tiny_elf(None, elf_type=3) + b"\0Eclipse Adoptium\0", 0o644),
            _file(JRE + "/lib/jspawnhelper", tiny_elf(), 0o755),
            _file("etc/debian_version.bak", b"12.9\n"),
            E("usr/bin/java", "symlink", target=f"/{JRE}/bin/java", mtime=946684800)]
    app = [_dir("app"), _file("app/app.jar", b"PK\x03\x04 sample application\n"), whiteout("etc/debian_version.bak")]
    config = {
        "Entrypoint": ["/usr/bin/java", "-jar"],
        "Cmd": ["/app/app.jar"],
        "User": "65532",
        "WorkingDir": "/home/nonroot",
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt", "LANG=C.UTF-8", "JAVA_VERSION=21.0.10"],
        "Labels": {"org.opencontainers.image.title": "inspect-image sample"},
    }
    return ImageSpec(layers=[static, libc, jre, app], config=config, tags=["sample/distroless-java:21"])


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else "testdata/sample/distroless-java.tar"
    write_docker_archive(target, sample_spec(), layout="legacy")
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Stage a TensorFlow wheel's C library as tfjs-node's deps/ folder.

tfjs-node links against libtensorflow's C API. Every TensorFlow wheel ships that API inside
libtensorflow_cc.so.2 (+ libtensorflow_framework.so.2) together with the C headers, so a wheel
that pip can fetch offline replaces the libtensorflow tarball that tfjs-node would download.

usage: python3 extract_libtensorflow.py WHEEL DEPS_DIR
"""
import os
import shutil
import sys
import zipfile

LIBRARIES = ("libtensorflow_cc.so.2", "libtensorflow_framework.so.2")
# Names tfjs-node's binding.gyp and install script look for, pointing at the real files.
LINKS = {
    "libtensorflow.so.2.9.1": "libtensorflow_cc.so.2",
    "libtensorflow.so.2": "libtensorflow_cc.so.2",
    "libtensorflow.so": "libtensorflow_cc.so.2",
    "libtensorflow_framework.so.2.9.1": "libtensorflow_framework.so.2",
    "libtensorflow_framework.so": "libtensorflow_framework.so.2",
}
INCLUDE_ROOT = "tensorflow/include/"


def wanted_header(relative: str) -> bool:
    return (
        relative.startswith("tensorflow/c/")
        or relative.startswith("tensorflow/core/platform/ctstring")
        or relative.startswith("tsl/platform/ctstring")
        or relative == "xla/tsl/c/tsl_status.h"
    )


def main(wheel: str, deps: str) -> None:
    lib_dir = os.path.join(deps, "lib")
    include_dir = os.path.join(deps, "include")
    staging = deps + ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "lib"))
    found = set()
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.endswith("/"):
                continue
            if name.startswith("tensorflow/") and os.path.basename(name) in LIBRARIES and name.count("/") == 1:
                target = os.path.join(staging, "lib", os.path.basename(name))
                found.add(os.path.basename(name))
            elif name.startswith(INCLUDE_ROOT) and wanted_header(name[len(INCLUDE_ROOT):]):
                target = os.path.join(staging, "include", name[len(INCLUDE_ROOT):])
            else:
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(name) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
    missing = [lib for lib in LIBRARIES if lib not in found]
    if missing:
        sys.exit(f"{wheel} does not contain {', '.join(missing)}: expected a TensorFlow 2.x Linux wheel")
    for link, target in LINKS.items():
        os.symlink(target, os.path.join(staging, "lib", link))
    # Swap in atomically so a half-extracted deps/ never looks complete.
    shutil.rmtree(deps, ignore_errors=True)
    os.rename(staging, deps)
    print(f"staged {', '.join(sorted(found))} and C headers in {lib_dir} and {include_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

"""Run the hostile-client tests: every function named test_* in the modules
given on the command line (tests/hostile/test_*.py by default).  A test
that returns "skip: reason" is skipped.  Prints one line per test and the
closing line "N passed, N failed, N skipped".

Exit status (automake's): 0 all passed, 1 something failed, 77 nothing
failed but something was skipped, 99 the checks cannot run at all (Python
with asserts stripped: -O or PYTHONOPTIMIZE would make every bare assert
pass).  Under CI=true a skip is a failure: exit 1, the reasons printed."""
import importlib.util
import os
import sys
import time
import traceback


def load(path):
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(paths):
    if sys.flags.optimize or not __debug__:
        print("ERROR: Python runs with asserts stripped (-O or PYTHONOPTIMIZE="
              f"{os.environ.get('PYTHONOPTIMIZE', '')!r}): no test could fail; unset it")
        return 99
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    if not paths:
        paths = sorted(os.path.join(here, n) for n in os.listdir(here)
                       if n.startswith("test_") and n.endswith(".py"))
    only = os.environ.get("HOSTILE_ONLY", "")
    passed = failed = 0
    skips = []
    for path in paths:
        module = load(path)
        for name in sorted(n for n in dir(module) if n.startswith("test_")):
            if only and only not in name:
                continue
            start = time.monotonic()
            try:
                result = getattr(module, name)()
            except Exception:
                failed += 1
                print(f"FAIL {module.__name__}.{name}")
                traceback.print_exc(file=sys.stdout)
                continue
            took = time.monotonic() - start
            if isinstance(result, str) and result.startswith("skip"):
                skips.append(f"{module.__name__}.{name}: {result[5:].strip()}")
                print(f"SKIP {skips[-1]}")
            else:
                passed += 1
                print(f"PASS {module.__name__}.{name} ({took:.1f}s)")
            sys.stdout.flush()
    print(f"{passed} passed, {failed} failed, {len(skips)} skipped")
    if failed:
        return 1
    if skips and os.environ.get("CI") == "true":
        print("FAIL: CI=true and tests were skipped:")
        for skip in skips:
            print(f"  {skip}")
        return 1
    return 77 if skips else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

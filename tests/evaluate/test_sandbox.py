import time

from echo_spark.evaluate.sandbox import run_program


def test_exit_status_decides():
    assert run_program("assert 1 + 1 == 2\n", 5).reason == "passed"
    assert run_program("assert 1 + 1 == 3\n", 5).reason == "failed"
    assert run_program("def broken(:\n", 5).reason == "failed"


def test_a_program_that_never_ends_is_killed_at_the_limit():
    started = time.perf_counter()
    result = run_program("while True:\n    pass\n", 1.0)
    assert result.reason == "timeout" and not result.passed
    assert time.perf_counter() - started < 5


def test_the_program_sees_no_environment_and_an_empty_folder_that_is_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("ECHO_SECRET_FOR_TEST", "x")
    probe = (
        "import os, sys\n"
        "assert 'ECHO_SECRET_FOR_TEST' not in os.environ\n"
        "assert os.listdir('.') == ['program.py']\n"
        "open('left_behind.txt', 'w').write('x')\n"
        "print(os.getcwd(), file=open('/dev/null', 'w'))\n"
    )
    assert run_program(probe, 5).passed


def test_memory_is_limited():
    assert run_program("x = bytearray(4 << 30)\n", 5).reason == "failed"

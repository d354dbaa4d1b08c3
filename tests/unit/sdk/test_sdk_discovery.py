"""Entity discovery: a file or a module path -> the tasks, workflows and launch plans it
defines, by fully qualified name, and clear errors naming the file and the cause."""

from __future__ import annotations

import itertools
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from wingspan import ContainerTask, LaunchPlan
from wingspan._authoring.task import PythonTask
from wingspan._authoring.workflow import Workflow
from wingspan._registration.discovery import EntityLoadError, load_entities, load_module, module_name_for
from wingspan.core.errors import UserError

_counter = itertools.count()


@pytest.fixture(autouse=True)
def isolated_imports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The user modules and sys.path entries a test adds are gone after it (modules of
    libraries it happened to import first stay: their classes are in use elsewhere)."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    root = str(tmp_path_factory.getbasetemp())
    for name in set(sys.modules) - modules:
        if str(getattr(sys.modules[name], "__file__", "") or "").startswith(root):
            del sys.modules[name]


def unique(stem: str) -> str:
    """A module name no other test (or earlier run in this process) has used."""
    return f"{stem}_{next(_counter)}_{id(_counter) % 10_000}"


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


LIBRARY = """
    from wingspan import LaunchPlan, task, workflow

    @task
    def shared(x: int) -> int:
        return x

    @workflow
    def shared_flow(x: int) -> int:
        return shared(x=x)

    shared_plan = LaunchPlan.get_or_create(shared_flow, name="{plan}")
"""


def user_module(library: str) -> str:
    return f"""
    from wingspan import ContainerTask, LaunchPlan, dynamic, task, workflow
    from {library} import shared, shared_flow, shared_plan

    @task
    def double(x: int) -> int:
        return 2 * x

    @dynamic
    def fan(n: int) -> int:
        return double(x=n)

    @workflow
    def pipeline(x: int = 1) -> int:
        return shared(x=double(x=x))

    count = ContainerTask("{{module}}.count", "alpine", ["wc"], inputs={{{{"x": int}}}})
    nightly = LaunchPlan.get_or_create(pipeline, name="{{module}}.nightly", default_inputs={{{{"x": 2}}}})
    LaunchPlan.get_or_create(pipeline, name="{{module}}.unassigned", fixed_inputs={{{{"x": 5}}}})
    alias = double
    """


def make_project(tmp_path: Path) -> tuple[Path, str, str]:
    """A folder with a library module and a user module importing entities from it."""
    library, module = unique("lib"), unique("flows")
    write(tmp_path / f"{library}.py", LIBRARY.format(plan=f"{library}.plan"))
    source = user_module(library).format(module=module)
    return write(tmp_path / f"{module}.py", source), library, module


def test_a_file_yields_its_own_entities_by_fully_qualified_name(tmp_path: Path) -> None:
    path, _, module = make_project(tmp_path)
    entities = load_entities(path)
    assert list(entities) == [f"{module}.double", f"{module}.fan", f"{module}.pipeline",
                              f"{module}.count", f"{module}.nightly", f"{module}.unassigned"]
    assert isinstance(entities[f"{module}.double"], PythonTask)
    assert isinstance(entities[f"{module}.pipeline"], Workflow)
    assert isinstance(entities[f"{module}.count"], ContainerTask)
    plan = entities[f"{module}.nightly"]
    assert isinstance(plan, LaunchPlan) and plan.workflow is entities[f"{module}.pipeline"]


def test_entities_imported_from_elsewhere_are_left_out(tmp_path: Path) -> None:
    path, library, _ = make_project(tmp_path)
    names = set(load_entities(path))
    assert not any(name.startswith(library) for name in names)
    # the library's own entities are found when the library is asked for
    assert set(load_entities(library)) == {f"{library}.shared", f"{library}.shared_flow", f"{library}.plan"}


def test_a_module_path_works_like_a_file(tmp_path: Path) -> None:
    path, _, module = make_project(tmp_path)
    sys.path.insert(0, str(tmp_path))
    assert list(load_entities(module)) == list(load_entities(path))


def test_loading_twice_reuses_the_module(tmp_path: Path) -> None:
    path, _, module = make_project(tmp_path)
    first = load_entities(path)
    again = load_entities(str(path))
    assert first[f"{module}.double"] is again[f"{module}.double"]


def test_a_file_in_a_package_is_named_from_the_top_of_the_package(tmp_path: Path) -> None:
    top = unique("proj")
    write(tmp_path / top / "__init__.py", "")
    write(tmp_path / top / "flows" / "__init__.py", "")
    path = write(tmp_path / top / "flows" / "etl.py", """
        from wingspan import task

        @task
        def extract(x: int) -> int:
            return x
    """)
    assert module_name_for(path) == (f"{top}.flows.etl", tmp_path)
    assert list(load_entities(path)) == [f"{top}.flows.etl.extract"]
    assert str(tmp_path) in sys.path
    # the package's own __init__ is a module of the package too
    assert module_name_for(tmp_path / top / "flows" / "__init__.py") == (f"{top}.flows", tmp_path)


def test_relative_imports_work_inside_a_package(tmp_path: Path) -> None:
    top = unique("pkg")
    write(tmp_path / top / "__init__.py", "")
    write(tmp_path / top / "tasks.py", """
        from wingspan import task

        @task
        def inc(x: int) -> int:
            return x + 1
    """)
    path = write(tmp_path / top / "flows.py", """
        from wingspan import workflow
        from .tasks import inc

        @workflow
        def twice(x: int) -> int:
            return inc(x=inc(x=x))
    """)
    assert list(load_entities(path)) == [f"{top}.flows.twice"]


def test_a_launch_plan_named_after_its_workflow_is_listed_under_that_name(tmp_path: Path) -> None:
    module = unique("default_plan")
    path = write(tmp_path / f"{module}.py", """
        from wingspan import LaunchPlan, task, workflow

        @task
        def one(x: int) -> int:
            return x

        @workflow
        def flow(x: int = 1) -> int:
            return one(x=x)

        default = LaunchPlan.get_or_create(flow, default_inputs={"x": 3})
    """)
    entities = load_entities(path)
    plan = entities[f"{module}.flow"]
    assert isinstance(plan, LaunchPlan) and plan.workflow.name == f"{module}.flow"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(EntityLoadError) as caught:
        load_entities(tmp_path / "nowhere.py")
    assert str(caught.value) == f"{tmp_path / 'nowhere.py'}: no such file"
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ImportError)


def test_a_folder_or_another_kind_of_file_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "hello")
    for target in (tmp_path, tmp_path / "notes.txt"):
        with pytest.raises(EntityLoadError, match="give a Python file"):
            load_entities(target)


def test_an_error_in_user_code_names_the_file_the_line_and_the_cause(tmp_path: Path) -> None:
    module = unique("broken")
    path = write(tmp_path / f"{module}.py", """
        from wingspan import task

        VALUE = 1
        raise RuntimeError("the database is not configured")
    """)
    with pytest.raises(EntityLoadError) as caught:
        load_entities(path)
    message = str(caught.value)
    assert message.startswith(f"{path} (module '{module}'): importing it failed with RuntimeError: "
                              "the database is not configured")
    assert message.endswith(f"({path}:5)")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert module not in sys.modules


def test_a_definition_error_in_user_code_shows_the_compilation_error(tmp_path: Path) -> None:
    module = unique("bad_task")
    path = write(tmp_path / f"{module}.py", """
        from wingspan import task

        @task(retries=-1)
        def oops(x) -> int:
            return x
    """)
    with pytest.raises(EntityLoadError) as caught:
        load_entities(path)
    message = str(caught.value)
    assert "importing it failed with CompilationError: 2 problems:" in message
    assert f"task '{module}.oops': parameter 'x' has no type annotation" in message


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    module = unique("syntax")
    path = write(tmp_path / f"{module}.py", "x = 1\ndef broken(:\n")
    with pytest.raises(EntityLoadError) as caught:
        load_entities(path)
    assert "importing it failed with SyntaxError" in str(caught.value)
    assert str(caught.value).endswith(f"({path}:2)")


def test_a_missing_dependency_of_user_code_is_not_mistaken_for_a_missing_module(tmp_path: Path) -> None:
    module = unique("needs")
    write(tmp_path / f"{module}.py", "import a_library_that_is_not_installed\n")
    sys.path.insert(0, str(tmp_path))
    with pytest.raises(EntityLoadError) as caught:
        load_entities(module)
    assert str(caught.value).startswith(
        f"module '{module}': importing it failed with ModuleNotFoundError: No module named "
        "'a_library_that_is_not_installed'")


def test_an_unknown_module_path_says_what_to_give() -> None:
    with pytest.raises(EntityLoadError) as caught:
        load_module("no_such_package.flows")
    assert str(caught.value) == ("no module named 'no_such_package.flows': give the path of a .py file, "
                                 "or put the module's folder on PYTHONPATH")


def test_a_file_whose_module_name_is_taken_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "json.py", "VALUE = 1\n")
    with pytest.raises(EntityLoadError) as caught:
        load_entities(path)
    assert "its module name 'json' is already taken by" in str(caught.value)


def test_a_file_name_that_is_not_an_identifier_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "my-flows.py", "VALUE = 1\n")
    with pytest.raises(EntityLoadError, match="its module name would be 'my-flows'"):
        load_entities(path)


def test_the_examples_define_what_they_say() -> None:
    examples = Path(__file__).parents[3] / "examples"
    entities = load_entities(examples / "scheduled.py")
    assert sorted(entities) == ["nightly_report", "scheduled.daily_report", "scheduled.report"]


def test_a_script_finding_its_own_entities_keeps_its_launch_plan_of_an_imported_workflow(
        tmp_path: Path) -> None:
    """``python script.py`` calling ``Remote.register(__file__)``: the launch plan the script made as
    __main__ is the one importing it again hands back, and it is still the script's own."""
    flows, script = unique("flows"), unique("script")
    (tmp_path / f"{flows}.py").write_text(textwrap.dedent("""
        from wingspan import task, workflow

        @task
        def t(x: int) -> int:
            return x

        @workflow
        def wf(x: int = 1) -> int:
            return t(x=x)
    """))
    (tmp_path / f"{script}.py").write_text(textwrap.dedent(f"""
        from wingspan import LaunchPlan
        from wingspan._registration.discovery import load_entities
        from {flows} import wf

        plan = LaunchPlan.get_or_create(wf, name="{script}_plan", default_inputs={{"x": 5}})

        if __name__ == "__main__":
            print(sorted(load_entities(__file__)))
    """))
    done = subprocess.run([sys.executable, str(tmp_path / f"{script}.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == repr([f"{script}_plan"])

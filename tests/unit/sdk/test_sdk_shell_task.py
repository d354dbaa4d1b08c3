"""``ShellTask`` (issue #22 item 15): a script template with typed inputs and File/Directory
outputs, in Flyte's spelling; run locally through the engine, in a workflow, in worker
processes; every mistake in its definition reported at once."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from wingspan import Directory, File, OutputLocation, ShellTask, kwtypes, task, workflow
from wingspan._authoring.workflow import single_node_workflow
from wingspan._registration.discovery import load_entities
from wingspan._runner.run import run_workflow_entity
from wingspan.core.errors import CompilationError, ExecutionFailedError, UserError
from wingspan.core.model.execution import WorkflowPhase

annotate = ShellTask(
    name="annotate",
    debug=True,
    script="""
    set -e
    echo "Showcasing the shell task, {inputs.times} times." >> {inputs.x}
    if grep -q "shell task" {inputs.x}; then echo "found it" >> {inputs.x}; fi
    cp {inputs.x} {outputs.i}
    """,
    inputs=kwtypes(x=File, times=int),
    output_locs=[OutputLocation(var="i", var_type=File, location="annotated.txt")],
)

pack = ShellTask(
    name="pack",
    script="""
    set -e
    mkdir -p {outputs.folder}
    cp {inputs.x} {outputs.folder}/
    for f in {outputs.folder}/*; do echo "${{f##*/}}" >> {outputs.folder}/index; done
    tar -czf {outputs.archive} -C {outputs.folder} .
    """,
    inputs=kwtypes(x=File),
    output_locs=[OutputLocation(var="folder", var_type=Directory, location="packed"),
                 OutputLocation(var="archive", var_type=File, location="{inputs.x}.tar.gz")],
)


@task
def count_lines(f: File) -> int:
    return len(Path(f.download()).read_text().splitlines())


@workflow
def annotate_and_pack(x: File) -> tuple[int, Directory, File]:
    annotated = annotate(x=x, times=3)
    folder, archive = pack(x=annotated)
    return count_lines(f=annotated), folder, archive


def test_a_shell_task_called_on_its_own(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("first line\n")
    result = annotate(x=File(str(source)), times=2)
    lines = Path(result.download()).read_text().splitlines()
    assert lines == ["first line", "Showcasing the shell task, 2 times.", "found it"]


def test_shell_tasks_in_a_workflow_with_file_and_folder_outputs(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("first line\n")
    lines, folder, archive = annotate_and_pack(x=File(str(source)))
    assert lines == 3
    # braces doubled in the script reach the shell as ${f##*/}
    assert (Path(folder.download()) / "index").read_text().split() == ["annotated.txt"]
    with tarfile.open(archive.download()) as packed:
        assert {"./annotated.txt", "./index"} <= set(packed.getnames())
    assert archive.download().endswith("annotated.txt.tar.gz")


def test_in_worker_processes_as_on_a_server(tmp_path: Path) -> None:
    module = tmp_path / "shell_flows_mod.py"
    module.write_text(
        "from wingspan import File, OutputLocation, ShellTask, kwtypes\n"
        "shout = ShellTask(name='shell_flows_mod.shout', script='tr a-z A-Z < {inputs.x} > {outputs.o}',\n"
        "                  inputs=kwtypes(x=File),\n"
        "                  output_locs=[OutputLocation('o', File, 'loud.txt')])\n")
    shout = load_entities(module)["shell_flows_mod.shout"]
    assert isinstance(shout, ShellTask)
    assert shout.template.code is not None and shout.template.code.qualname == "shout"
    source = tmp_path / "quiet.txt"
    source.write_text("hello\n")
    result = run_workflow_entity(single_node_workflow(shout), {"x": File(str(source))},
                                 target="local-process")
    assert result.phase == WorkflowPhase.SUCCEEDED, result.error
    assert Path(result.outputs["o"].download()).read_text() == "HELLO\n"


def test_a_failing_script_names_the_task_and_its_status(tmp_path: Path) -> None:
    broken = ShellTask(name="broken", script="echo 'no such thing' >&2; exit 3", inputs=kwtypes(n=int))
    # called on its own, a task raises what it raised, as a function would
    with pytest.raises(RuntimeError, match="shell task 'broken': the script exited with status 3: "
                                           "no such thing"):
        broken(n=1)
    missing = ShellTask(name="missing", script="true",
                        output_locs=[OutputLocation("o", File, "never-written.txt")])
    with pytest.raises(UserError, match=r"output 'o' should be the file .*never-written.txt"):
        missing()

    @workflow
    def calls_broken() -> None:
        broken(n=2)

    with pytest.raises(ExecutionFailedError, match=r"at node 'n0'.*shell task 'broken': the script exited"):
        calls_broken()


def test_definition_mistakes_are_reported_together() -> None:
    with pytest.raises(CompilationError) as caught:
        ShellTask(name="wrong", script="cat {inputs.y} > {outputs.z}", inputs=kwtypes(x=int),
                  output_locs=[OutputLocation("n", int, "n.txt"), OutputLocation("o", File, "{inputs.q}")],
                  retries=-1)
    text = str(caught.value)
    for part in ["names {inputs.y}, which the task does not have (inputs: x)",
                 "names {outputs.z}, which the task does not have (outputs: o)",
                 "the location of output 'o' names {inputs.q}",
                 "output 'n': a shell task's outputs are File or Directory",
                 "retries=-1 must be an int >= 0"]:
        assert part in text, part
    with pytest.raises(CompilationError, match=r"either as script='\.\.\.' or as script_file"):
        ShellTask(name="none")


def test_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("echo hello {inputs.who} > {outputs.o}\n")
    hello = ShellTask(name="hello", script_file=str(script), inputs=kwtypes(who=str),
                      output_locs=[OutputLocation("o", File, "hello.txt")])
    assert Path(hello(who="ada").download()).read_text() == "hello ada\n"

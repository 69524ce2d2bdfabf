"""`devplat crossplane validate` end to end: one line per problem, a summary, exit code 1; JSON for scripts."""

from __future__ import annotations

import json
import shutil

import pytest

from control_plane.platform_package.cli import default_crds
from control_plane.platform_package.documents import display_path
from control_plane.platform_package.tests.test_validate import CRDS, GOOD
from devplat.tests.support import call_devplat


def test_a_clean_package_exits_zero_with_a_summary():
    ran = call_devplat("crossplane", "validate", str(GOOD), "--crds", str(CRDS))

    assert (ran.code, ran.err) == (0, "")
    assert ran.out.strip().endswith(
        "9 documents in 6 files checked against 3 CRDs from " + display_path(CRDS) + ": no problems"
    )


def test_problems_are_one_line_each_then_a_summary_and_exit_one(tmp_path):
    root = tmp_path / "widgets"
    shutil.copytree(GOOD, root)
    xrd = root / "xrds" / "widgets.yaml"
    xrd.write_text(xrd.read_text().replace("apiextensions.crossplane.io/v2", "apiextensions.crossplane.io/v1"))
    example = root / "examples" / "widget.yaml"
    example.write_text(example.read_text().replace("widget:1.0.0", "widget:latest"))

    ran = call_devplat("crossplane", "validate", str(root), "--crds", str(CRDS))

    assert ran.code == 1
    lines = ran.out.strip().splitlines()
    assert lines[0] == (
        f'{root}/examples/widget.yaml:1: Widget/demo: spec.image: Invalid value: "string": image must not use the '
        "mutable :latest tag"
    )
    assert lines[1].startswith(
        f"{root}/xrds/widgets.yaml:1: CompositeResourceDefinition/widgets.example.devplat.io: wrong API version"
    )
    assert lines[-1].startswith(f"{root}: {len(lines) - 1} problems in 2 files (")


def test_json_output_is_the_list_of_problems(tmp_path):
    root = tmp_path / "widgets"
    shutil.copytree(GOOD, root)
    example = root / "examples" / "widget.yaml"
    example.write_text(example.read_text().replace("widget:1.0.0", "widget:latest"))

    ran = call_devplat("crossplane", "validate", str(root), "--crds", str(CRDS), "-o", "json")

    assert ran.code == 1
    problems = json.loads(ran.out)
    assert problems[0] == {
        "path": f"{root}/examples/widget.yaml",
        "document": 1,
        "kind": "Widget",
        "name": "demo",
        "message": 'spec.image: Invalid value: "string": image must not use the mutable :latest tag',
    }


def test_json_output_of_a_clean_package_is_an_empty_list():
    ran = call_devplat("crossplane", "validate", str(GOOD), "--crds", str(CRDS), "-o", "json")

    assert (ran.code, json.loads(ran.out)) == (0, [])


def test_a_missing_crds_directory_says_what_to_pass(tmp_path):
    ran = call_devplat("crossplane", "validate", str(GOOD), "--crds", str(tmp_path / "nowhere"))

    assert ran.code == 1
    assert ran.err.strip() == f"error: --crds {tmp_path / 'nowhere'}: not a directory of CustomResourceDefinitions"


def test_a_missing_package_directory_is_refused(tmp_path):
    ran = call_devplat("crossplane", "validate", str(tmp_path / "nowhere"), "--crds", str(CRDS))

    assert ran.code == 1
    assert "not a directory; give the platform package's directory" in ran.err


def test_without_crds_and_no_shared_directory_it_says_to_pass_crds(settings, tmp_path):
    settings.BASE_DIR = tmp_path / "project"

    ran = call_devplat("crossplane", "validate", str(GOOD))

    assert ran.code == 1
    assert ran.err.strip() == (
        f"error: no upstream CRDs at {tmp_path}/shared/crossplane-crds; pass --crds DIR with the Crossplane, function "
        "and provider CustomResourceDefinitions to validate against."
    )


@pytest.mark.skipif(not default_crds().is_dir(), reason=f"the upstream CRDs are not at {default_crds()} (CI has them)")
def test_by_default_it_validates_the_projects_package_against_the_shared_crds():
    ran = call_devplat("crossplane", "validate")

    assert (ran.code, ran.err) == (0, ""), ran.out
    assert ran.out.strip().endswith(": no problems")

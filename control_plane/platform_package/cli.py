"""`devplat crossplane validate`: check the platform package before it ships (CI runs it in `make check`)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from control_plane.platform_package.crds import CrdDirectoryError
from control_plane.platform_package.documents import display_path
from control_plane.platform_package.package import validate_package
from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb


def default_package() -> Path:
    return Path(settings.BASE_DIR) / "crossplane"


def default_crds() -> Path:
    """`../shared/crossplane-crds` next to the project, where CI and the dev machines keep the upstream CRDs."""
    return Path(settings.BASE_DIR).parent / "shared" / "crossplane-crds"


class CrossplaneNoun(Noun):
    name = "crossplane"
    help = "The Crossplane platform package in crossplane/ (XRDs, compositions, functions, providers, examples)."

    @verb(
        "validate",
        "Check the platform package: every document against the upstream CRD schemas (and their CEL rules), "
        "compositions against their XRDs, functions and providers against the Configuration's dependsOn, examples "
        "against their XRDs, and everything compositions render as Kubernetes objects. Exit code 1 on problems.",
        arg("path", nargs="?", type=Path, help="The package directory (default: the project's crossplane/)."),
        arg(
            "--crds",
            type=Path,
            metavar="DIR",
            help="A directory of upstream CustomResourceDefinitions (default: ../shared/crossplane-crds).",
        ),
        needs_user=False,
        formats=("table", "json"),
    )
    def validate(self, inv: Invocation) -> Output:
        root = inv.args.path or default_package()
        if not root.is_dir():
            raise CliError(f"{root}: not a directory; give the platform package's directory (e.g. crossplane/).")
        crds = inv.args.crds
        if crds is None:
            crds = default_crds()
            if not crds.is_dir():
                raise CliError(
                    f"no upstream CRDs at {crds}; pass --crds DIR with the Crossplane, function and provider "
                    "CustomResourceDefinitions to validate against."
                )
        try:
            report = validate_package(root, crds)
        except CrdDirectoryError as error:
            raise CliError(str(error)) from None
        shown = display_path(root)
        checked = (
            f"{report.documents} documents in {report.files} files checked against {report.crds} CRDs from "
            f"{display_path(crds)}"
        )
        if not report.problems:
            return Output(data=[], message=f"{shown}: {checked}: no problems")
        files = len({problem.path for problem in report.problems})
        count = len(report.problems)
        plural = "s" if count != 1 else "", "s" if files != 1 else ""
        summary = f"{shown}: {count} problem{plural[0]} in {files} file{plural[1]} ({checked})"
        return Output(
            data=[problem.as_dict() for problem in report.problems],
            message="\n".join([*(problem.line() for problem in report.problems), summary]),
            exit_code=1,
        )

"""`devplat sandbox serve`: the sandbox Kubernetes API server in the foreground, for kubectl, demos and `make run`."""

from __future__ import annotations

import errno
import signal
from pathlib import Path
from types import FrameType

from devplat.core.cli.registry import CliError, Invocation, Noun, Output, arg, verb


class SandboxNoun(Noun):
    name = "sandbox"
    help = "The sandbox Kubernetes API server (an emulator for tests and demos, not a real cluster)."

    @verb(
        "serve",
        "Serve a sandbox Kubernetes API on loopback until interrupted.",
        arg("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default: a free one)."),
        arg(
            "--seed",
            choices=["demo", "empty"],
            default="empty",
            help="demo: a small Crossplane platform with three teams; empty: built-in kinds only.",
        ),
        arg(
            "--state",
            type=Path,
            default=None,
            help="Keep the objects in this file across restarts (the seed is used only when it does not exist).",
        ),
        arg("--kubeconfig-out", type=Path, default=None, help="Write a kubeconfig for this server to FILE."),
        arg(
            "--simulate",
            action="store_true",
            default=None,
            help="Run the simulated reconciler (default: on with --seed demo).",
        ),
        arg("--no-simulate", dest="simulate", action="store_false", help="Never run the simulated reconciler."),
        needs_user=False,
        formats=("table",),
    )
    def serve(self, inv: Invocation) -> Output:
        from control_plane.sandbox.apiserver import ApiServer
        from control_plane.sandbox.runner import Sandbox
        from control_plane.sandbox.seed import load_demo
        from control_plane.sandbox.simulator import Simulator
        from control_plane.sandbox.statefile import StateFile

        args = inv.args
        api = ApiServer()
        state = StateFile(api, args.state) if args.state else None
        try:
            restored = state.load() if state else None
        except ValueError as error:
            raise CliError(str(error)) from None
        if restored is not None:
            origin = f"{restored} objects restored from {args.state}"
        elif args.seed == "demo":
            origin = f"seed demo, {load_demo(api)} objects"
        else:
            origin = "empty"
        sandbox = Sandbox(api, port=args.port)
        try:
            sandbox.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CliError(f"port {args.port} is in use: pick another with --port, or 0 for a free one") from None
            raise
        if args.kubeconfig_out:
            sandbox.write_kubeconfig(args.kubeconfig_out)
        inv.progress(f"sandbox: serving a Kubernetes API at {sandbox.url} ({origin})")
        if args.kubeconfig_out:
            inv.progress(f"sandbox: kubeconfig written to {args.kubeconfig_out} (KUBECONFIG={args.kubeconfig_out})")
        simulate = args.simulate if args.simulate is not None else args.seed == "demo"
        simulator = Simulator(api) if simulate else None
        if simulator:
            simulator.start()
            inv.progress(
                "sandbox: SIMULATED reconciler on: new composites become Ready with composed children after "
                f"{simulator.delay:g} s and follow changes to their spec. This is a simulation, not Crossplane; "
                "nothing is provisioned."
            )
        if state:
            state.start()

        def stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)  # also when started in the background, where SIGINT is inherited ignored
        try:
            sandbox.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if simulator:
                simulator.stop()
            sandbox.stop()
            if state:
                state.stop()
        return Output(message="sandbox: stopped" + (f", state saved to {args.state}" if state else ""))

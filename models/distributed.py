"""Where training runs: the device, and under torchrun the process group (gloo on CPU, nccl on CUDA)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def resolve_device(spec: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto' picks CUDA, then Apple's MPS, then the CPU; an unavailable explicit choice is a ValueError."""
    spec = (spec or "auto").lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError("CUDA was asked for, but this machine has no usable NVIDIA GPU; use --device cpu.")
        return torch.device("cuda", local_rank % torch.cuda.device_count()) if spec == "cuda" else torch.device(spec)
    if spec == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError("MPS was asked for, but this machine has no usable Apple GPU; use --device cpu.")
        return torch.device("mps")
    raise ValueError(f"Unknown device '{spec}'; choose auto, cpu, cuda or mps.")


def describe_device(device: torch.device) -> str:
    """'CPU (2 threads)' or the GPU's name, for people."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def memory_exhausted(exc: BaseException) -> str | None:
    """'gpu' or 'cpu' when exc says memory ran out there, else None (PyTorch words it differently per device)."""
    text = str(exc).lower()
    if isinstance(exc, torch.cuda.OutOfMemoryError) or (isinstance(exc, RuntimeError) and "out of memory" in text):
        return "gpu"  # "CUDA out of memory. Tried to allocate ...", "MPS backend out of memory ..."
    cpu_words = ("can't allocate memory", "not enough memory")  # DefaultCPUAllocator: can't allocate memory: ...
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and any(w in text for w in cpu_words)):
        return "cpu"
    return None


def out_of_memory_words(where: str) -> str:
    return "The graphics card (GPU) ran out of memory" if where == "gpu" else "The computer ran out of memory"


def free_device_memory() -> None:
    """Give memory that PyTorch keeps cached on a GPU back, after running out of it (the next request needs it)."""
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        mps.empty_cache()


@dataclass
class DistributedContext:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    owns_group: bool = False

    @classmethod
    def start(cls, device_spec: str = "auto") -> DistributedContext:
        """A single process, or (when torchrun set WORLD_SIZE > 1) this process's place in the group."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(resolve_device(device_spec))
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = resolve_device(device_spec, local_rank)
        if device.type == "mps":
            raise ValueError("Training on several processes is supported on CPUs and NVIDIA GPUs, not on MPS.")
        owns = not dist.is_initialized()
        if owns:
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(device, dist.get_rank(), dist.get_world_size(), owns)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> str:
        text = describe_device(self.device)
        return text if self.world_size == 1 else f"{text} x {self.world_size} processes"

    def wrap(self, module: nn.Module) -> nn.Module:
        """DistributedDataParallel around a module when several processes train, else the module itself."""
        if self.world_size == 1:
            return module
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def any(self, flag: bool) -> bool:
        """True if the flag is true in any process: every process then takes the same branch."""
        if self.world_size == 1:
            return bool(flag)
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def replicas_agree(self, module: nn.Module) -> bool:
        """Whether every process holds the same weights (DDP's promise; a cheap check at the end of a run)."""
        if self.world_size == 1:
            return True
        with torch.no_grad():
            total = torch.stack([p.detach().double().sum() for p in module.parameters()]).sum().view(1).to(self.device)
        low, high = total.clone(), total.clone()
        dist.all_reduce(low, op=dist.ReduceOp.MIN)
        dist.all_reduce(high, op=dist.ReduceOp.MAX)
        return bool((high - low).abs().item() <= 1e-6 * max(1.0, total.abs().item()))

    def barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()

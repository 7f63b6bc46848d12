"""What this CPU does natively, for tests of a reduced-precision path: they skip, saying why, where it would only be
emulated (an AVX2 CPU, or any CPU held to AVX2 by ONEDNN_MAX_CPU_ISA)."""
import pytest

from lrcn.hardware import cpu

needs_bf16 = pytest.mark.skipif(not cpu().bf16, reason=f"this CPU has no bf16 dot products ({cpu().isa}): "
                                                       "lrcn runs fp32 here")
needs_int8 = pytest.mark.skipif(not cpu().int8, reason=f"this CPU has no int8 dot products ({cpu().isa}): "
                                                       "lrcn runs fp32 here")

/*
 * A stand-in for Windows' bcryptprimitives.dll, for running the Windows build under Wine in
 * the tests only (never shipped): Debian's Wine 8 has no bcryptprimitives.dll, and Rust's
 * standard library imports `ProcessPrng` from it at load time, so no Rust program starts.
 *
 * `ProcessPrng` fills the buffer from `RtlGenRandom` (advapi32's `SystemFunction036`), the
 * system's cryptographic generator, like the real one. Build (`cargo xtask test` does it):
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

/* advapi32 exports RtlGenRandom under this name; it takes at most a ULONG of bytes. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

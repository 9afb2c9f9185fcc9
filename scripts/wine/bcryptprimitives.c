/*
 * bcryptprimitives.dll for Wine before 8.13 (Debian 12 ships 8.0), which lacks it: Rust's std
 * (1.78 and later) imports ProcessPrng from it for HashMap keys, so no Rust program starts
 * without it. scripts/wine-tests builds this into the Wine prefix's system32; on Windows and
 * newer Wine the real DLL is used. ProcessPrng fills a buffer with random bytes and never
 * fails; here it asks advapi32's RtlGenRandom (SystemFunction036), which Wine has.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

/*
 * nethv UEFI loader: boot files from \nethv\ on the volume nethv.efi was
 * loaded from.  Every regular file is a module (page-aligned EfiLoaderData),
 * except \nethv\cmdline, whose text becomes boot_info.cmdline.
 */
#include "loader.h"

#define DIR_BUF 1024                    /* EFI_FILE_INFO + a 255-char name */

static EFI_FILE_HANDLE open_dir(EFI_HANDLE image)
{
    EFI_LOADED_IMAGE *li;
    EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
    EFI_FILE_HANDLE root, dir;
    EFI_STATUS st;

    st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol, (void **)&li);
    if (!EFI_ERROR(st))
        st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle,
                               &FileSystemProtocol, (void **)&fs);
    if (EFI_ERROR(st)) {
        Print(L"nethv-efi: boot volume has no file system (%r): no modules\n", st);
        return NULL;
    }
    st = uefi_call_wrapper(fs->OpenVolume, 2, fs, &root);
    if (EFI_ERROR(st)) {
        Print(L"nethv-efi: cannot open boot volume: %r\n", st);
        return NULL;
    }
    st = uefi_call_wrapper(root->Open, 5, root, &dir, L"\\nethv", EFI_FILE_MODE_READ, 0ULL);
    uefi_call_wrapper(root->Close, 1, root);
    if (EFI_ERROR(st)) {
        Print(L"nethv-efi: no \\nethv directory (%r): no modules\n", st);
        return NULL;
    }
    return dir;
}

/* Read up to len bytes of the file into buf; returns the bytes read. */
static UINTN read_file(EFI_FILE_HANDLE dir, CHAR16 *name, void *buf, UINTN len)
{
    EFI_FILE_HANDLE f;
    UINTN done = 0;
    EFI_STATUS st = uefi_call_wrapper(dir->Open, 5, dir, &f, name, EFI_FILE_MODE_READ, 0ULL);
    if (EFI_ERROR(st)) {
        Print(L"nethv-efi: cannot open \\nethv\\%s: %r\n", name, st);
        return 0;
    }
    while (done < len) {
        UINTN n = len - done;
        st = uefi_call_wrapper(f->Read, 3, f, &n, (UINT8 *)buf + done);
        if (EFI_ERROR(st)) {
            Print(L"nethv-efi: reading \\nethv\\%s: %r\n", name, st);
            break;
        }
        if (n == 0)
            break;
        done += n;
    }
    uefi_call_wrapper(f->Close, 1, f);
    return done;
}

static void load_cmdline(EFI_FILE_HANDLE dir, EFI_FILE_INFO *fi, struct boot_info *bi)
{
    UINTN len = fi->FileSize < BOOT_CMDLINE - 1 ? fi->FileSize : BOOT_CMDLINE - 1;
    if (fi->FileSize > len)
        Print(L"nethv-efi: warning: \\nethv\\cmdline truncated to %ld bytes\n", len);
    SetMem(bi->cmdline, sizeof(bi->cmdline), 0);
    read_file(dir, fi->FileName, bi->cmdline, len);
    ascii_trim_cmdline(bi->cmdline);
}

static void load_module(EFI_FILE_HANDLE dir, EFI_FILE_INFO *fi, const char *name,
                        struct boot_info *bi)
{
    if (bi->nmod == BOOT_MAX_MOD) {
        Print(L"nethv-efi: warning: more than %d modules, skipping %a\n", BOOT_MAX_MOD, name);
        return;
    }
    void *buf = alloc_pages(fi->FileSize);
    if (!buf) {
        Print(L"nethv-efi: error: no memory for module %a (%ld bytes)\n", name, fi->FileSize);
        return;
    }
    UINTN got = read_file(dir, fi->FileName, buf, fi->FileSize);
    if (got != fi->FileSize) {
        Print(L"nethv-efi: error: module %a: read %ld of %ld bytes, skipped\n",
              name, got, fi->FileSize);
        uefi_call_wrapper(BS->FreePages, 2, (EFI_PHYSICAL_ADDRESS)buf, PAGES(fi->FileSize ? fi->FileSize : 1));
        return;
    }
    struct boot_module *m = &bi->mod[bi->nmod++];
    m->base = (UINT64)buf;
    m->len = fi->FileSize;
    ascii_copy(m->name, sizeof(m->name), name);
    Print(L"nethv-efi: module %a: %ld bytes at 0x%lx\n", name, m->len, m->base);
}

EFI_STATUS load_boot_files(EFI_HANDLE image, struct boot_info *bi)
{
    EFI_FILE_HANDLE dir = open_dir(image);
    UINT64 ibuf[DIR_BUF / 8];
    EFI_FILE_INFO *fi = (EFI_FILE_INFO *)ibuf;

    if (!dir)
        return EFI_SUCCESS;             /* modules are optional */
    for (;;) {
        UINTN n = sizeof(ibuf);
        EFI_STATUS st = uefi_call_wrapper(dir->Read, 3, dir, &n, fi);
        if (EFI_ERROR(st)) {
            Print(L"nethv-efi: reading \\nethv: %r\n", st);
            break;
        }
        if (n == 0)
            break;
        if (fi->Attribute & EFI_FILE_DIRECTORY)
            continue;
        char name[BOOT_MOD_NAME];
        UINTN maxc = (n - SIZE_OF_EFI_FILE_INFO) / sizeof(CHAR16);
        ascii_from_ucs2(name, sizeof(name), fi->FileName, maxc);
        if (ascii_eq_nocase(name, "cmdline"))
            load_cmdline(dir, fi, bi);
        else
            load_module(dir, fi, name, bi);
    }
    uefi_call_wrapper(dir->Close, 1, dir);
    return EFI_SUCCESS;
}

/*
 * LoadOptions win over \nethv\cmdline when they hold a printable UCS-2
 * string (the UEFI shell, a boot entry with arguments).  Binary option data
 * (EDK II tags auto-created boot entries with a GUID) is ignored, and so is
 * a leading "*.efi" word (the shell passes the program name first).
 */
void cmdline_from_load_options(EFI_HANDLE image, struct boot_info *bi)
{
    EFI_LOADED_IMAGE *li;
    char buf[BOOT_CMDLINE];

    if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol,
                                    (void **)&li)) || !li->LoadOptions ||
        li->LoadOptionsSize < sizeof(CHAR16))
        return;
    const CHAR16 *s = li->LoadOptions;
    UINTN n = li->LoadOptionsSize / sizeof(CHAR16);
    for (UINTN i = 0; i < n && s[i]; i++)
        if (s[i] >= 0x7f || (s[i] < 0x20 && s[i] != '\t'))
            return;                     /* not text */
    ascii_from_ucs2(buf, sizeof(buf), s, n);
    ascii_trim_cmdline(buf);

    char *p = buf;
    while (*p == ' ')
        p++;
    char *w = p;
    while (*w && *w != ' ')
        w++;
    if (w - p >= 4) {
        char tail[5] = { w[-4], w[-3], w[-2], w[-1], 0 };
        if (ascii_eq_nocase(tail, ".efi"))
            for (p = w; *p == ' '; p++)
                ;
    }
    if (*p) {
        ascii_copy(bi->cmdline, sizeof(bi->cmdline), p);
        Print(L"nethv-efi: command line from load options\n");
    }
}

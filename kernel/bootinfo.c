/* Looking things up in the boot information. */
#include <string.h>
#include <nethv/bootinfo.h>

const struct boot_module *bootinfo_find_module(const struct boot_info *bi, const char *name)
{
    for (uint32_t i = 0; i < bi->nmod; i++)
        if (!strcmp(bi->mod[i].name, name))
            return &bi->mod[i];
    return NULL;
}

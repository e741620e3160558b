#ifndef ARCH_PIC_H
#define ARCH_PIC_H
/* Remap the legacy PICs to VEC_PIC_BASE..+15 and mask them (BSP, once). */
void pic_disable(void);
#endif

/*
 * What devices may use of the VM they are attached to. The VM itself
 * (struct vm) is private to src/vmm.
 */
#ifndef KRUN_VMM_VM_H
#define KRUN_VMM_VM_H

struct vm;
struct event_loop;

/* The VM's event loop (runs on the thread that started the VM). */
struct event_loop *vm_event_loop(struct vm *vm);

/* Record the workload's exit status reported by the guest init. */
void vm_set_exit_status(struct vm *vm, int status);

#endif

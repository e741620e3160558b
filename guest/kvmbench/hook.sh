# /etc/nethv.d/50-kvmbench.sh in the kvmbench initramfs (sourced by /init in a
# subshell, after the network modules): load Linux KVM for this CPU's
# virtualization extension and run kvmbench.  Sizes from the kernel command
# line: kvmbench.io=N kvmbench.hc=N kvmbench.mmio=N (defaults 20000 each).
io=20000
hc=20000
mmio=20000
for a in $(cat /proc/cmdline); do
    case $a in
    kvmbench.io=*) io=${a#*=} ;;
    kvmbench.hc=*) hc=${a#*=} ;;
    kvmbench.mmio=*) mmio=${a#*=} ;;
    esac
done
if loadkvm; then
    /bin/kvmbench "$io" "$hc" "$mmio"
    echo "kvmbench: exit status $?"
else
    echo "kvmbench: error: no KVM"
fi

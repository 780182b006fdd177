/* placeholder until the store lands */ typedef int dk_node_placeholder_;

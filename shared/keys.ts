/** The etcd key schema. Everything tsswarm stores lives under one prefix. */
export const ROOT = '/tsswarm/v1/';

export const Keys = {
  cluster: `${ROOT}cluster`,
  /** The cluster CA (manager/ca/ca-record.ts): trusted roots, the signing root, its key sealed. */
  ca: `${ROOT}ca`,
  /** Removed nodes, whose certificates are refused (RevokedNode). */
  revoked: `${ROOT}revoked/`,
  revokedNode: (id: string) => `${ROOT}revoked/${id}`,
  /** The node certificate the CA last issued to each node (manager/ca/ca-record.ts CertRecord). */
  certs: `${ROOT}certs/`,
  certRecord: (nodeId: string) => `${ROOT}certs/${nodeId}`,
  nodes: `${ROOT}nodes/`,
  services: `${ROOT}services/`,
  tasks: `${ROOT}tasks/`,
  networks: `${ROOT}networks/`,
  /** The keyring of the encrypted overlay networks (manager/network-keys/seal.ts), one key. */
  networkKeys: `${ROOT}networkkeys`,
  /** Secrets and configs (StoredBlob), by name: a name is the key, so two cannot share one. */
  secrets: `${ROOT}secrets/`,
  configs: `${ROOT}configs/`,
  secret: (name: string) => `${ROOT}secrets/${name}`,
  config: (name: string) => `${ROOT}configs/${name}`,
  stacks: `${ROOT}stacks/`,
  election: `${ROOT}election/leader`,
  /** Live managers, each under its own lease (ManagerRecord). */
  managers: `${ROOT}managers/`,
  manager: (id: string) => `${ROOT}managers/${id}`,
  /** The last `image prune` (ImagePruneRecord): every manager prunes its own store when it changes. */
  imagePrune: `${ROOT}imageprune`,
  /** The cluster's images (ImageRecord), by reference. */
  images: `${ROOT}images/`,
  image: (ref: string) => `${ROOT}images/${encodeURIComponent(ref)}`,
  /**
   * `--with-registry-auth`: the deployer's credential for a service's image registry, sealed under
   * the data key (ServiceRegistryAuth), for the pulls its tasks need later; gone with the service.
   */
  serviceRegistryAuth: (serviceId: string) => `${ROOT}registryauth/${serviceId}`,
  /** Address reservations: ipam/addr/<network id>/<ip> → owner. */
  ipamAddrs: `${ROOT}ipam/addr/`,
  ipamAddr: (networkId: string, ip: string) => `${ROOT}ipam/addr/${networkId}/${ip}`,
  /** One key per VXLAN id and per subnet in use, written only if absent. */
  ipamVni: (vni: number) => `${ROOT}ipam/vni/${vni}`,
  ipamSubnet: (cidr: string) => `${ROOT}ipam/subnet/${cidr.replace('/', '_')}`,
  network: (id: string) => `${ROOT}networks/${id}`,
  node: (id: string) => `${ROOT}nodes/${id}`,
  service: (id: string) => `${ROOT}services/${id}`,
  task: (id: string) => `${ROOT}tasks/${id}`,
  stack: (name: string) => `${ROOT}stacks/${name}`,
  /** Each node's local volumes as its agent reports them (NodeVolumes). */
  nodeVolumes: `${ROOT}volumes/nodes/`,
  nodeVolume: (nodeId: string) => `${ROOT}volumes/nodes/${nodeId}`,
  /** volume create/rm/prune requests on their way to a node and back (VolumeRequest). */
  volumeRequests: `${ROOT}volumes/requests/`,
  volumeRequest: (id: string) => `${ROOT}volumes/requests/${id}`,
} as const;

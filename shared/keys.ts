/** The etcd key schema. Everything tsswarm stores lives under one prefix. */
export const ROOT = '/tsswarm/v1/';

export const Keys = {
  cluster: `${ROOT}cluster`,
  nodes: `${ROOT}nodes/`,
  services: `${ROOT}services/`,
  tasks: `${ROOT}tasks/`,
  networks: `${ROOT}networks/`,
  secrets: `${ROOT}secrets/`,
  configs: `${ROOT}configs/`,
  stacks: `${ROOT}stacks/`,
  election: `${ROOT}election/leader`,
  node: (id: string) => `${ROOT}nodes/${id}`,
  service: (id: string) => `${ROOT}services/${id}`,
  task: (id: string) => `${ROOT}tasks/${id}`,
  stack: (name: string) => `${ROOT}stacks/${name}`,
} as const;

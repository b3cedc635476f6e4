/**
 * The JSON of Docker's swarm objects as the Engine API v1.41 shows them (moby's api/types/swarm
 * node.go, secret.go, config.go, common.go; api/types/types.go NetworkResource / NetworkCreate),
 * with Docker's field names, so that the `docker` CLI and tools written against Docker read tsswarm's
 * answers unchanged. Only types: objects.ts builds them from tsswarm's records.
 */
import type { DockerGenericResource } from './service-types';

/** A generic resource: a count (`gpu=2`) or a named one (`gpu=UUID-1`); one definition, beside the service types. */
export type { DockerGenericResource };

/** Docker's object version: the store index of the last write; sent back on updates (`?version=`). */
export interface DockerVersion {
  Index: number;
}

/** Annotations: Docker always sends `Labels` (a map, never omitted); `Name` is omitted when empty. */
export interface DockerAnnotations {
  Name?: string;
  Labels: Record<string, string>;
}

export type DockerNodeRole = 'worker' | 'manager';
export type DockerNodeAvailability = 'active' | 'pause' | 'drain';
export type DockerNodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type DockerReachability = 'unknown' | 'unreachable' | 'reachable';

export interface DockerNodeSpec extends DockerAnnotations {
  Role: DockerNodeRole;
  Availability: DockerNodeAvailability;
}


export interface DockerResources {
  NanoCPUs: number;
  MemoryBytes: number;
  GenericResources?: DockerGenericResource[];
}

export interface DockerPluginDescription {
  Type: string;
  Name: string;
}

export interface DockerTLSInfo {
  TrustRoot: string;
  /** base64, as Go marshals []byte. */
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

export interface DockerNodeDescription {
  Hostname: string;
  /** `uname -m` style architecture (x86_64, aarch64) and the OS, as dockerd reports them. */
  Platform: { Architecture: string; OS: string };
  Resources: DockerResources;
  Engine: { EngineVersion: string; Labels: Record<string, string>; Plugins: DockerPluginDescription[] };
  TLSInfo?: DockerTLSInfo;
}

export interface DockerNode {
  ID: string;
  Version: DockerVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DockerNodeSpec;
  Description: DockerNodeDescription;
  Status: { State: DockerNodeState; Message?: string; Addr: string };
  /** Managers only. */
  ManagerStatus?: { Leader?: boolean; Reachability: DockerReachability; Addr: string };
}

export interface DockerIPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface DockerIPAM {
  Driver: string;
  Options: Record<string, string> | null;
  Config: DockerIPAMConfig[];
}

/** A container's endpoint on a network (NetworkResource.Containers values). */
export interface DockerEndpointResource {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/** GET /networks, /networks/{id}: Docker's NetworkResource (note `Id`, not `ID`). */
export interface DockerNetwork {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: DockerIPAM;
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, DockerEndpointResource>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** POST /networks/create's body (NetworkCreateRequest): every field but Name may be absent or null. */
export interface DockerNetworkCreate {
  Name: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Options?: Record<string, string> | null; Config?: DockerIPAMConfig[] | null } | null;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network: string } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** A driver reference (secrets' external store, templating of secrets and configs). */
export interface DockerDriver {
  Name: string;
  Options?: Record<string, string>;
}

export interface DockerSecretSpec extends DockerAnnotations {
  Name: string;
  /** base64; only in create bodies: Docker never shows a secret's bytes. */
  Data?: string;
  Driver?: DockerDriver;
  Templating?: DockerDriver;
}

export interface DockerConfigSpec extends DockerAnnotations {
  Name: string;
  /** base64: Docker shows a config's bytes. */
  Data?: string;
  Templating?: DockerDriver;
}

export interface DockerSecret {
  ID: string;
  Version: DockerVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DockerSecretSpec;
}

export interface DockerConfig {
  ID: string;
  Version: DockerVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: DockerConfigSpec;
}

/** POST /secrets/create and /configs/create: the spec itself, Labels possibly null or absent. */
export type DockerSecretCreate = Omit<DockerSecretSpec, 'Labels'> & { Labels?: Record<string, string> | null };
export type DockerConfigCreate = Omit<DockerConfigSpec, 'Labels'> & { Labels?: Record<string, string> | null };

/** POST /secrets/create and /configs/create answer: the new object's id. */
export interface DockerIdResponse {
  ID: string;
}

/** POST /networks/create answer (NetworkCreateResponse). */
export interface DockerNetworkCreateResponse {
  Id: string;
  Warning: string;
}

// Lets one managed identity pull images from an existing Azure Container Registry.
// Deploying a role assignment needs Owner, User Access Administrator or Role Based Access Control
// Administrator on the registry (Contributor is not enough).

@description('Name of an existing Azure Container Registry in the deployment\'s resource group.')
param acrName string

@description('Principal (object) id of the identity that pulls.')
param principalId string

// The built-in role "AcrPull": its id is the same in every Azure tenant.
var acrPullRoleId = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: acrName
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, principalId, acrPullRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRoleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
